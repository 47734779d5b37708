package dev.loupe.training;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import jakarta.inject.Inject;

import io.grpc.ManagedChannel;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.vertx.VertxContextSupport;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.loupe.contracts.governance.v1.AuditEvent;
import dev.loupe.contracts.training.v1.BaseModel;
import dev.loupe.support.error.ProblemException;
import dev.loupe.support.error.ProblemType;
import dev.loupe.training.modelstore.InspectedCheckpoint;
import dev.loupe.training.modelstore.ModelStore;
import dev.loupe.training.service.BaseModelService;
import dev.loupe.training.service.TinyBaseRegistration;
import dev.loupe.training.service.TinyBaseRegistration.Outcome;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The base model the service registers by itself at start (the repository's tiny base model): registered once,
 * by the system, and skipped with a warning, never a failed start, when its folder is missing or incomplete.
 */
@QuarkusTest
class TinyBaseRegistrationTest {
    @ConfigProperty(name = "quarkus.datasource.jdbc.url")
    String jdbcUrl;
    @ConfigProperty(name = "quarkus.datasource.username")
    String dbUser;
    @ConfigProperty(name = "quarkus.datasource.password")
    String dbPassword;
    @ConfigProperty(name = "loupe.training.tiny-base.path")
    Path tinyBasePath;
    @Inject
    TinyBaseRegistration registration;
    @Inject
    BaseModelService baseModels;
    @Inject
    ModelStore store;

    private ManagedChannel channel;

    @BeforeEach
    void openChannel() {
        channel = TestClients.channel();
    }

    @AfterEach
    void closeChannel() throws InterruptedException {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    private List<BaseModel> listed(String id) {
        return TestClients.allBaseModels(channel, "acme-engineer").stream().filter(m -> m.getId().equals(id)).toList();
    }

    @Test
    void registersOnceWithTheServiceAsRegistrant() throws Exception {
        String id = TestClients.uniqueId("tiny");
        // Outside the models root: the folder comes from the operator's configuration, not from a caller.
        Path folder = TestCheckpoints.write(Path.of("target", id));

        assertEquals(Outcome.REGISTERED, registration.register(id, "Tiny", folder));
        assertEquals(Outcome.ALREADY_REGISTERED, registration.register(id, "Tiny", folder));

        List<BaseModel> found = listed(id);
        assertEquals(1, found.size());
        BaseModel model = found.get(0);
        assertEquals("Tiny", model.getDisplayName());
        assertEquals(TestCheckpoints.contentHash(folder), model.getContentHash());
        assertEquals("training-service", model.getCreatedBy().getService());
        assertEquals("", model.getCreatedBy().getUserId());

        List<AuditEvent> events = TestClients.outboxEventsAbout(jdbcUrl, dbUser, dbPassword, id);
        assertEquals(1, events.size());
        assertEquals("model.base.registered", events.get(0).getAction());
        assertEquals("training-service", events.get(0).getActor().getActor().getService());
        assertEquals("", events.get(0).getActor().getActor().getUserId());
        assertEquals("", events.get(0).getTenant());
    }

    @Test
    void aWriteThatLosesTheRaceForAnIdIsAlreadyExists() throws Throwable {
        String id = TestClients.uniqueId("tiny-race");
        InspectedCheckpoint checkpoint = store.inspectConfigured(TestCheckpoints.write(Path.of("target", id)));
        VertxContextSupport.subscribeAndAwait(() -> baseModels.registerBySystem(id, "Tiny", checkpoint));

        // registerBySystem does not look first: the primary key refuses the second insert.
        ProblemException taken = assertThrows(ProblemException.class, () -> VertxContextSupport
                .subscribeAndAwait(() -> baseModels.registerBySystem(id, "Tiny", checkpoint)));
        assertEquals(ProblemType.ALREADY_EXISTS, taken.type());
        assertEquals(1, TestClients.outboxEventsAbout(jdbcUrl, dbUser, dbPassword, id).size());
    }

    @Test
    void aMissingOrIncompleteFolderIsSkipped() throws Exception {
        String id = TestClients.uniqueId("tiny-missing");
        assertEquals(Outcome.SKIPPED, registration.register(id, "Tiny", Path.of("target", "no-such-folder")));

        Path incomplete = Files.createDirectories(Path.of("target", id));
        Files.writeString(incomplete.resolve("tokenizer.json"), TestCheckpoints.TOKENIZER);
        assertEquals(Outcome.SKIPPED, registration.register(id, "Tiny", incomplete));

        assertTrue(listed(id).isEmpty());
        assertTrue(TestClients.outboxEventsAbout(jdbcUrl, dbUser, dbPassword, id).isEmpty());
    }

    @Test
    void theRepositoryTinyBaseIsRegisteredAtStartOnceItIsThere() {
        Assumptions.assumeTrue(Files.isRegularFile(tinyBasePath.resolve("config.json"))
                && Files.isRegularFile(tinyBasePath.resolve("model.safetensors")),
                "models/loupe-tiny-base holds no complete checkpoint yet");
        List<BaseModel> found = listed("loupe-tiny-base");
        assertEquals(1, found.size());
        assertEquals("llava", found.get(0).getArchitecture());
        assertTrue(found.get(0).getParameterCount() > 0);
    }
}
