package dev.loupe.training;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import com.google.common.util.concurrent.ListenableFuture;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.quarkus.test.junit.QuarkusTest;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.loupe.contracts.common.v1.PageRequest;
import dev.loupe.contracts.governance.v1.AuditEvent;
import dev.loupe.contracts.governance.v1.Outcome;
import dev.loupe.contracts.training.v1.BaseModel;
import dev.loupe.contracts.training.v1.BaseModelFile;
import dev.loupe.contracts.training.v1.ListBaseModelsRequest;
import dev.loupe.contracts.training.v1.RegisterBaseModelRequest;
import dev.loupe.contracts.training.v1.TrainingServiceGrpc;
import dev.loupe.contracts.training.v1.TrainingServiceGrpc.TrainingServiceBlockingStub;
import dev.loupe.support.error.GrpcProblems;
import dev.loupe.support.error.ProblemException;
import dev.loupe.support.error.ProblemType;
import dev.loupe.support.grpc.BearerCallCredentials;
import dev.loupe.support.testing.KeycloakTokens;

import static dev.loupe.support.testing.GrpcAuthenticationContract.assertFailsWith;
import static dev.loupe.training.TestClients.PLATFORM_ADMIN;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Registering and listing base models over gRPC, on PostgreSQL, with real Keycloak tokens. */
@QuarkusTest
class BaseModelGrpcServiceTest {
    @ConfigProperty(name = "quarkus.datasource.jdbc.url")
    String jdbcUrl;
    @ConfigProperty(name = "quarkus.datasource.username")
    String dbUser;
    @ConfigProperty(name = "quarkus.datasource.password")
    String dbPassword;
    @ConfigProperty(name = "loupe.training.models-root")
    Path modelsRoot;

    private ManagedChannel channel;

    @BeforeEach
    void openChannel() {
        channel = TestClients.channel();
    }

    @AfterEach
    void closeChannel() throws InterruptedException {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    private TrainingServiceBlockingStub as(String user) {
        return TestClients.as(channel, user);
    }

    /** A fresh folder inside the models root, named like the id a test registers from it. */
    private Path folderInRoot(String name) throws IOException {
        return Files.createDirectories(modelsRoot.resolve(name));
    }

    private static RegisterBaseModelRequest register(String id, String storageUri) {
        return RegisterBaseModelRequest.newBuilder().setId(id).setStorageUri(storageUri).build();
    }

    /** Asserts that a call fails as an invalid request naming {@code field}; returns its detail. */
    private static String assertInvalid(String field, Runnable call) {
        StatusRuntimeException e = assertFailsWith(Status.Code.INVALID_ARGUMENT, call);
        ProblemException problem = GrpcProblems.fromStatus(e);
        assertEquals(ProblemType.INVALID_REQUEST, problem.type());
        assertEquals(field, problem.field().orElse(null), problem.detail());
        return problem.detail();
    }

    @Test
    void platformAdminRegistersAndEveryTenantListsIt() throws Exception {
        String id = TestClients.uniqueId("llava-test");
        Path folder = TestCheckpoints.write(folderInRoot(id));

        BaseModel model = as(PLATFORM_ADMIN).registerBaseModel(RegisterBaseModelRequest.newBuilder()
                .setId(id)
                .setDisplayName("LLaVA test")
                .setArchitecture("llava")
                .setStorageUri(id)
                .build());

        assertEquals(id, model.getId());
        assertEquals("LLaVA test", model.getDisplayName());
        assertEquals("llava", model.getArchitecture());
        assertEquals(TestCheckpoints.PARAMETERS, model.getParameterCount());
        assertEquals(folder.toRealPath().toUri().toString(), model.getStorageUri());
        assertEquals(TestCheckpoints.contentHash(folder), model.getContentHash());
        Map<String, String> hashes = model.getFilesList()
                .stream()
                .collect(Collectors.toMap(BaseModelFile::getName, BaseModelFile::getSha256));
        assertEquals(TestCheckpoints.fileHashes(folder), hashes);
        assertEquals(List.of("config.json", "model.safetensors", "tokenizer.json"),
                model.getFilesList().stream().map(BaseModelFile::getName).toList());
        for (BaseModelFile file : model.getFilesList()) {
            assertEquals(Files.size(folder.resolve(file.getName())), file.getSizeBytes());
        }
        assertEquals(PLATFORM_ADMIN, model.getCreatedBy().getUsername());
        assertTrue(model.getCreatedAt().getSeconds() > 0);

        // Base models belong to the platform: every tenant's readers see the same entry.
        assertTrue(TestClients.allBaseModels(channel, "acme-engineer").contains(model));
        assertTrue(TestClients.allBaseModels(channel, "globex-compliance").contains(model));
        assertTrue(TestClients.allBaseModels(channel, "acme-admin").contains(model));
    }

    @Test
    void storageUriMayBeAFileUriOrAnAbsolutePath() throws Exception {
        String id = TestClients.uniqueId("uri-forms");
        Path folder = TestCheckpoints.write(folderInRoot(id));
        String expected = folder.toRealPath().toUri().toString();

        BaseModel byUri = as(PLATFORM_ADMIN).registerBaseModel(register(id + "-uri", folder.toUri().toString()));
        BaseModel byPath = as(PLATFORM_ADMIN)
                .registerBaseModel(register(id + "-path", folder.toAbsolutePath().toString()));

        assertEquals(expected, byUri.getStorageUri());
        assertEquals(expected, byPath.getStorageUri());
        assertEquals(byUri.getContentHash(), byPath.getContentHash());
        // Without a display name the id is shown.
        assertEquals(id + "-uri", byUri.getDisplayName());
    }

    @Test
    void shardedCheckpointCountsEveryShard() throws Exception {
        String id = TestClients.uniqueId("sharded");
        Path folder = TestCheckpoints.writeSharded(folderInRoot(id));

        BaseModel model = as(PLATFORM_ADMIN).registerBaseModel(register(id, id));

        assertEquals(6 + 8, model.getParameterCount());
        assertEquals(5, model.getFilesCount());
        assertEquals(TestCheckpoints.contentHash(folder), model.getContentHash());
    }

    @Test
    void onlyPlatformAdminsRegister() throws Exception {
        String id = TestClients.uniqueId("not-yours");
        TestCheckpoints.write(folderInRoot(id));
        for (String user : List.of("acme-engineer", "acme-admin", "acme-compliance")) {
            assertFailsWith(Status.Code.PERMISSION_DENIED,
                    () -> as(user).registerBaseModel(register(id, id)));
        }
        assertTrue(TestClients.allBaseModels(channel, "acme-engineer").stream().noneMatch(m -> m.getId().equals(id)));
    }

    @Test
    void listingFollowsTheRoleMatrix() {
        ListBaseModelsRequest list = ListBaseModelsRequest.getDefaultInstance();
        // platform-admin reads no tenant's jobs and models; data stewards and applications have no business here.
        for (String user : List.of(PLATFORM_ADMIN, "acme-steward", "acme-app")) {
            assertFailsWith(Status.Code.PERMISSION_DENIED, () -> as(user).listBaseModels(list));
        }
        assertInvalid("limit", () -> as("acme-engineer").listBaseModels(ListBaseModelsRequest.newBuilder()
                .setPage(PageRequest.newBuilder().setLimit(101))
                .build()));
        assertInvalid("after", () -> as("acme-engineer").listBaseModels(ListBaseModelsRequest.newBuilder()
                .setPage(PageRequest.newBuilder().setAfter("Not An Id!"))
                .build()));
    }

    @Test
    void folderOutsideTheModelsRootIsRefused(@TempDir Path outside) throws Exception {
        Path folder = TestCheckpoints.write(outside.resolve("llava"));
        String id = TestClients.uniqueId("outside");

        assertInvalid("storage_uri", () -> as(PLATFORM_ADMIN).registerBaseModel(register(id, folder.toString())));
        assertInvalid("storage_uri",
                () -> as(PLATFORM_ADMIN).registerBaseModel(register(id, folder.toUri().toString())));
        String dotDot = assertInvalid("storage_uri",
                () -> as(PLATFORM_ADMIN).registerBaseModel(register(id, "../" + id)));
        assertTrue(dotDot.contains(".."), dotDot);
        assertInvalid("storage_uri", () -> as(PLATFORM_ADMIN)
                .registerBaseModel(register(id, modelsRoot.toAbsolutePath() + "/a/../../" + id)));
        assertInvalid("storage_uri", () -> as(PLATFORM_ADMIN)
                .registerBaseModel(register(id, "https://huggingface.co/llava-hf/llava-1.5-7b-hf")));
        assertInvalid("storage_uri", () -> as(PLATFORM_ADMIN).registerBaseModel(register(id, "")));
        assertInvalid("storage_uri", () -> as(PLATFORM_ADMIN).registerBaseModel(register(id, "no-such-folder")));

        // A link inside the root that leads out of it is refused, for the folder and for any file in it.
        Path linkedFolder = modelsRoot.resolve(id + "-link");
        Files.createSymbolicLink(linkedFolder, folder.toAbsolutePath());
        String viaLink = assertInvalid("storage_uri",
                () -> as(PLATFORM_ADMIN).registerBaseModel(register(id, linkedFolder.getFileName().toString())));
        assertTrue(viaLink.contains("symbolic link"), viaLink);
        Path inside = TestCheckpoints.write(folderInRoot(id + "-file-link"));
        Files.delete(inside.resolve("model.safetensors"));
        Files.createSymbolicLink(inside.resolve("model.safetensors"), folder.resolve("model.safetensors"));
        String fileLink = assertInvalid("storage_uri",
                () -> as(PLATFORM_ADMIN).registerBaseModel(register(id, inside.getFileName().toString())));
        assertTrue(fileLink.contains("model.safetensors"), fileLink);

        assertTrue(TestClients.allBaseModels(channel, "acme-engineer").stream().noneMatch(m -> m.getId().equals(id)));
    }

    @Test
    void incompleteOrBrokenCheckpointsAreRefused() throws Exception {
        String id = TestClients.uniqueId("broken");

        Path noConfig = TestCheckpoints.write(folderInRoot(id + "-no-config"));
        Files.delete(noConfig.resolve("config.json"));
        String detail = assertInvalid("storage_uri",
                () -> as(PLATFORM_ADMIN).registerBaseModel(register(id, noConfig.getFileName().toString())));
        assertTrue(detail.contains("config.json"), detail);

        Path noTokenizer = TestCheckpoints.write(folderInRoot(id + "-no-tokenizer"));
        Files.delete(noTokenizer.resolve("tokenizer.json"));
        detail = assertInvalid("storage_uri",
                () -> as(PLATFORM_ADMIN).registerBaseModel(register(id, noTokenizer.getFileName().toString())));
        assertTrue(detail.contains("tokenizer.json"), detail);

        Path noWeights = TestCheckpoints.write(folderInRoot(id + "-no-weights"));
        Files.delete(noWeights.resolve("model.safetensors"));
        detail = assertInvalid("storage_uri",
                () -> as(PLATFORM_ADMIN).registerBaseModel(register(id, noWeights.getFileName().toString())));
        assertTrue(detail.contains("model.safetensors"), detail);

        Path badHeader = TestCheckpoints.write(folderInRoot(id + "-bad-header"));
        Files.write(badHeader.resolve("model.safetensors"), new byte[]{(byte) 0xff, 0, 0, 0, 0, 0, 0, 0, '{', '}'});
        detail = assertInvalid("storage_uri",
                () -> as(PLATFORM_ADMIN).registerBaseModel(register(id, badHeader.getFileName().toString())));
        assertTrue(detail.contains("model.safetensors"), detail);

        Path notLlava = TestCheckpoints.write(folderInRoot(id + "-not-llava"));
        Files.writeString(notLlava.resolve("config.json"),
                TestCheckpoints.CONFIG.replace("\"model_type\": \"llava\"", "\"model_type\": \"qwen2_vl\""));
        detail = assertInvalid("storage_uri",
                () -> as(PLATFORM_ADMIN).registerBaseModel(register(id, notLlava.getFileName().toString())));
        assertTrue(detail.contains("model_type"), detail);

        Path notJson = TestCheckpoints.write(folderInRoot(id + "-not-json"));
        Files.writeString(notJson.resolve("config.json"), "model_type: llava");
        detail = assertInvalid("storage_uri",
                () -> as(PLATFORM_ADMIN).registerBaseModel(register(id, notJson.getFileName().toString())));
        assertTrue(detail.contains("config.json"), detail);

        assertTrue(TestClients.allBaseModels(channel, "acme-engineer").stream().noneMatch(m -> m.getId().equals(id)));
    }

    @Test
    void badFieldsAreNamed() throws Exception {
        String id = TestClients.uniqueId("fields");
        TestCheckpoints.write(folderInRoot(id));
        assertInvalid("id", () -> as(PLATFORM_ADMIN).registerBaseModel(register("", id)));
        assertInvalid("id", () -> as(PLATFORM_ADMIN).registerBaseModel(register("LLaVA 7B", id)));
        assertInvalid("id",
                () -> as(PLATFORM_ADMIN).registerBaseModel(register("01a21c5c-f98c-70ff-81da-24c9dd863f0b", id)));
        assertInvalid("display_name", () -> as(PLATFORM_ADMIN).registerBaseModel(register(id, id).toBuilder()
                .setDisplayName("x".repeat(201))
                .build()));
        assertInvalid("architecture", () -> as(PLATFORM_ADMIN).registerBaseModel(register(id, id).toBuilder()
                .setArchitecture("qwen2_vl")
                .build()));
    }

    @Test
    void concurrentRegistrationsOfOneIdStoreOne() throws Exception {
        String id = TestClients.uniqueId("race");
        TestCheckpoints.write(folderInRoot(id));
        List<ListenableFuture<BaseModel>> calls = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            calls.add(TrainingServiceGrpc.newFutureStub(channel)
                    .withCallCredentials(new BearerCallCredentials(KeycloakTokens.accessToken(PLATFORM_ADMIN), null))
                    .withDeadlineAfter(60, TimeUnit.SECONDS)
                    .registerBaseModel(register(id, id)));
        }
        int registered = 0;
        for (ListenableFuture<BaseModel> call : calls) {
            try {
                call.get();
                registered++;
            } catch (ExecutionException e) {
                assertEquals(Status.Code.ALREADY_EXISTS, Status.fromThrowable(e.getCause()).getCode(),
                        e.getCause().toString());
            }
        }
        assertEquals(1, registered);
        assertEquals(1, TestClients.outboxEventsAbout(jdbcUrl, dbUser, dbPassword, id).size());
    }

    @Test
    void aTakenIdIsRefusedAndTheOutboxHoldsOneEvent() throws Exception {
        String id = TestClients.uniqueId("once");
        TestCheckpoints.write(folderInRoot(id));
        BaseModel first = as(PLATFORM_ADMIN).registerBaseModel(register(id, id));

        StatusRuntimeException taken = assertFailsWith(Status.Code.ALREADY_EXISTS,
                () -> as(PLATFORM_ADMIN).registerBaseModel(register(id, id)));
        ProblemException problem = GrpcProblems.fromStatus(taken);
        assertEquals(ProblemType.ALREADY_EXISTS, problem.type());
        assertEquals("id", problem.field().orElse(null));

        List<AuditEvent> events = TestClients.outboxEventsAbout(jdbcUrl, dbUser, dbPassword, id);
        assertEquals(1, events.size(), events.toString());
        AuditEvent event = events.get(0);
        assertEquals("model.base.registered", event.getAction());
        assertEquals("base_model", event.getResource().getType());
        assertEquals(Outcome.OUTCOME_SUCCESS, event.getOutcome());
        assertEquals("training-service", event.getSource());
        // Base models are the platform's: the event goes to the platform chain, not a tenant's.
        assertEquals("", event.getTenant());
        assertEquals(PLATFORM_ADMIN, event.getActor().getActor().getUsername());
        assertEquals(first.getContentHash(), event.getDetails().getFieldsOrThrow("content_hash").getStringValue());
        assertEquals(TestCheckpoints.PARAMETERS,
                (long) event.getDetails().getFieldsOrThrow("parameter_count").getNumberValue());
    }
}
