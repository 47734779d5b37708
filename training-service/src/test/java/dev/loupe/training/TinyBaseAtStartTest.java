package dev.loupe.training;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.grpc.ManagedChannel;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import org.junit.jupiter.api.Test;

import dev.loupe.contracts.training.v1.BaseModel;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** A service started with a tiny base model folder configured has registered it by the time it serves calls. */
@QuarkusTest
@TestProfile(TinyBaseAtStartTest.WithTinyBase.class)
class TinyBaseAtStartTest {
    static final String ID = TestClients.uniqueId("tiny-at-start");

    /** Points the tiny base model at a checkpoint the profile writes under target/. */
    public static class WithTinyBase implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            Path folder = Path.of("target", ID);
            try {
                TestCheckpoints.write(folder);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return Map.of("loupe.training.tiny-base.path", folder.toString(), "loupe.training.tiny-base.id", ID,
                    "loupe.training.tiny-base.display-name", "Tiny at start");
        }
    }

    @Test
    void registeredAtStartByTheService() throws InterruptedException {
        ManagedChannel channel = TestClients.channel();
        try {
            List<BaseModel> found = TestClients.allBaseModels(channel, "acme-engineer")
                    .stream()
                    .filter(m -> m.getId().equals(ID))
                    .toList();
            assertEquals(1, found.size());
            assertEquals("Tiny at start", found.get(0).getDisplayName());
            assertEquals("training-service", found.get(0).getCreatedBy().getService());
            assertEquals(TestCheckpoints.PARAMETERS, found.get(0).getParameterCount());
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }
}
