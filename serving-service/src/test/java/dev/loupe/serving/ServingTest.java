package dev.loupe.serving;

import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;

import jakarta.inject.Inject;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.quarkus.test.junit.QuarkusTest;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.loupe.contracts.governance.v1.AuditEvent;
import dev.loupe.contracts.governance.v1.Outcome;
import dev.loupe.contracts.serving.v1.CompletionChunk;
import dev.loupe.contracts.serving.v1.CompletionRequest;
import dev.loupe.contracts.serving.v1.CompletionResponse;
import dev.loupe.contracts.serving.v1.ContentPart;
import dev.loupe.contracts.serving.v1.CreateDeploymentRequest;
import dev.loupe.contracts.serving.v1.DeleteDeploymentRequest;
import dev.loupe.contracts.serving.v1.Deployment;
import dev.loupe.contracts.serving.v1.DeploymentOptions;
import dev.loupe.contracts.serving.v1.DeploymentState;
import dev.loupe.contracts.serving.v1.DriftEvent;
import dev.loupe.contracts.serving.v1.DriftStatistic;
import dev.loupe.contracts.serving.v1.GetDeploymentRequest;
import dev.loupe.contracts.serving.v1.GetMonitoringRequest;
import dev.loupe.contracts.serving.v1.InferenceServiceGrpc;
import dev.loupe.contracts.serving.v1.InferenceServiceGrpc.InferenceServiceBlockingStub;
import dev.loupe.contracts.serving.v1.ListDeploymentsRequest;
import dev.loupe.contracts.serving.v1.Message;
import dev.loupe.contracts.serving.v1.Monitoring;
import dev.loupe.contracts.serving.v1.ServingServiceGrpc;
import dev.loupe.contracts.serving.v1.ServingServiceGrpc.ServingServiceBlockingStub;
import dev.loupe.contracts.training.v1.ModelVersionState;
import dev.loupe.engine.tiny.SyntheticScenes;
import dev.loupe.serving.inference.LoadedDeployments;
import dev.loupe.serving.inference.ServedDeployment;
import dev.loupe.support.error.GrpcProblems;
import dev.loupe.support.grpc.BearerCallCredentials;
import dev.loupe.support.testing.KeycloakTokens;
import dev.loupe.support.testing.OutboxEvents;

import static dev.loupe.support.testing.GrpcAuthenticationContract.assertFailsWith;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Deployments and inference over gRPC with real Keycloak tokens, PostgreSQL and the tiny base model, the weights
 * coming from the stand-in registry of these tests ({@link TestTrainingService}).
 */
@QuarkusTest
class ServingTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String ENGINEER = "acme-engineer";
    private static final String APP = "acme-app";
    /** The drift window of these tests (see application.properties). */
    private static final int WINDOW = 200;

    @ConfigProperty(name = "quarkus.datasource.jdbc.url")
    String jdbcUrl;
    @ConfigProperty(name = "quarkus.datasource.username")
    String dbUser;
    @ConfigProperty(name = "quarkus.datasource.password")
    String dbPassword;
    @Inject
    LoadedDeployments loaded;

    private ManagedChannel channel;
    private final List<String> created = new ArrayList<>();

    @BeforeEach
    void openChannel() {
        channel = ManagedChannelBuilder.forAddress("localhost", 18083).usePlaintext().build();
    }

    @AfterEach
    void cleanUp() throws InterruptedException {
        for (String id : created) {
            try {
                deployments(ENGINEER)
                        .deleteDeployment(DeleteDeploymentRequest.newBuilder().setDeploymentId(id).build());
            } catch (StatusRuntimeException e) {
                // Already gone.
            }
        }
        TestTrainingService.STATES.put(TestTrainingService.TO_QUARANTINE,
                ModelVersionState.MODEL_VERSION_STATE_APPROVED);
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    private ServingServiceBlockingStub deployments(String user) {
        return ServingServiceGrpc.newBlockingStub(channel)
                .withCallCredentials(new BearerCallCredentials(KeycloakTokens.accessToken(user), null))
                .withDeadlineAfter(120, TimeUnit.SECONDS);
    }

    private InferenceServiceBlockingStub inference(String user) {
        return InferenceServiceGrpc.newBlockingStub(channel)
                .withCallCredentials(new BearerCallCredentials(KeycloakTokens.accessToken(user), null))
                .withDeadlineAfter(120, TimeUnit.SECONDS);
    }

    /** Deploys with the response cache off unless the options turn it on: most tests compare generations. */
    private Deployment deploy(String version, String name, DeploymentOptions.Builder options) {
        if (!options.hasCacheEnabled()) {
            options.setCacheEnabled(false);
        }
        Deployment deployment = deployments(ENGINEER).createDeployment(CreateDeploymentRequest.newBuilder()
                .setModelVersionId(version)
                .setName(name)
                .setOptions(options)
                .build());
        created.add(deployment.getId());
        return deployment;
    }

    private static String unique(String prefix) {
        return prefix + "-" + java.util.UUID.randomUUID().toString().substring(0, 8);
    }

    /** A user message with a synthetic scene and a question, answered greedily. */
    static CompletionRequest.Builder ask(String deployment, int scene, String question, int maxTokens) {
        String png;
        try {
            png = Base64.getEncoder()
                    .encodeToString(SyntheticScenes.png(SyntheticScenes.render(new SyntheticScenes(5).scene(scene))));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return CompletionRequest.newBuilder()
                .setDeploymentId(deployment)
                .addMessages(Message.newBuilder()
                        .setRole("user")
                        .addContent(ContentPart.newBuilder().setImageUrl("data:image/png;base64," + png))
                        .addContent(ContentPart.newBuilder().setText(question)))
                .setMaxTokens(maxTokens)
                .setTemperature(0);
    }

    @Test
    void onlyApprovedVersionsDeployAndNamesAreTheTenants() {
        assertFailsWith(Status.Code.FAILED_PRECONDITION,
                () -> deploy(TestTrainingService.CANDIDATE, unique("candidate"), DeploymentOptions.newBuilder()));
        assertFailsWith(Status.Code.NOT_FOUND, () -> deploy("0190a4c4-0000-7000-8000-0000000000ff", unique("nothing"),
                DeploymentOptions.newBuilder()));
        StatusRuntimeException badSize = assertFailsWith(Status.Code.INVALID_ARGUMENT,
                () -> deploy(TestTrainingService.FIRST, unique("big"), DeploymentOptions.newBuilder()
                        .setMaxBatchSize(1000)));
        assertEquals("options.max_batch_size", GrpcProblems.fromStatus(badSize).field().orElseThrow());

        String name = unique("first");
        Deployment deployment = deploy(TestTrainingService.FIRST, name, DeploymentOptions.newBuilder());
        assertEquals(DeploymentState.DEPLOYMENT_STATE_READY, deployment.getState());
        assertEquals("loupe-tiny-base", deployment.getBaseModelId());
        assertEquals(8, deployment.getOptions().getMaxBatchSize());
        assertEquals(ENGINEER, deployment.getCreatedBy().getUsername());
        assertFailsWith(Status.Code.ALREADY_EXISTS,
                () -> deploy(TestTrainingService.SECOND, name, DeploymentOptions.newBuilder()));

        // Another tenant neither sees nor calls it; a model consumer calls it but does not manage deployments.
        GetDeploymentRequest get = GetDeploymentRequest.newBuilder().setDeploymentId(deployment.getId()).build();
        assertEquals(name, deployments(ENGINEER).getDeployment(get).getName());
        assertFailsWith(Status.Code.NOT_FOUND, () -> deployments("globex-engineer").getDeployment(get));
        assertTrue(deployments("globex-engineer").listDeployments(ListDeploymentsRequest.getDefaultInstance())
                .getDeploymentsList()
                .isEmpty());
        assertFailsWith(Status.Code.NOT_FOUND,
                () -> inference("globex-app").complete(ask(name, 1, "Describe the image.", 4).build()));
        assertFailsWith(Status.Code.PERMISSION_DENIED, () -> deployments(APP).getDeployment(get));
        assertFalse(inference(APP).complete(ask(name, 1, "Describe the image.", 4).build()).getId().isEmpty());
        assertFailsWith(Status.Code.PERMISSION_DENIED,
                () -> inference("acme-compliance").complete(ask(name, 1, "Describe the image.", 4).build()));
    }

    @Test
    void twoAdaptersShareOneBaseAndAnswerWithTheirOwnBehaviour() {
        String first = deploy(TestTrainingService.FIRST, unique("first"), DeploymentOptions.newBuilder()).getName();
        String second = deploy(TestTrainingService.SECOND, unique("second"), DeploymentOptions.newBuilder())
                .getName();
        String firstAnswer = inference(APP).complete(ask(first, 2, "Describe the image.", 16).build()).getText();
        String secondAnswer = inference(APP).complete(ask(second, 2, "Describe the image.", 16).build()).getText();
        assertNotEquals(firstAnswer, secondAnswer);
        assertEquals(firstAnswer, inference(APP).complete(ask(first, 2, "Describe the image.", 16).build()).getText());

        // One copy of the base weights: both deployments run on the same host, each adding a small adapter.
        List<ServedDeployment> served = loaded.loaded()
                .values()
                .stream()
                .filter(d -> d.deployment().name().equals(first) || d.deployment().name().equals(second))
                .toList();
        assertEquals(2, served.size());
        assertSame(served.get(0).host(), served.get(1).host());
    }

    @Test
    void aFullWeightVersionIsServedFromItsOwnWeightsWhichNeverReachADisk() throws Exception {
        // The full version's weights are the base's, as is an adapter whose B is zero: both answer alike.
        String full = deploy(TestTrainingService.FULL, unique("full"), DeploymentOptions.newBuilder()).getName();
        String zero = deploy(TestTrainingService.ZERO_ADAPTER, unique("zero"), DeploymentOptions.newBuilder())
                .getName();
        for (int scene = 0; scene < 3; scene++) {
            String fromFull = inference(APP).complete(ask(full, scene, "Describe the image.", 16).build()).getText();
            String fromAdapter = inference(APP).complete(ask(zero, scene, "Describe the image.", 16).build())
                    .getText();
            assertEquals(fromAdapter, fromFull);
            assertFalse(fromFull.isEmpty());
        }
        // Its own host: the full version shares nothing with the base the adapters share.
        ServedDeployment fullServed = loaded.find("acme", full).orElseThrow();
        ServedDeployment zeroServed = loaded.find("acme", zero).orElseThrow();
        assertNotEquals(fullServed.host(), zeroServed.host());
        // The decrypted files were read from memory and are gone.
        java.nio.file.Path scratch = java.nio.file.Path.of("/dev/shm/loupe-serving");
        try (var left = java.nio.file.Files.list(scratch)) {
            assertEquals(List.of(), left.toList());
        }
        assertEquals("rwx------", java.nio.file.attribute.PosixFilePermissions.toString(java.nio.file.Files
                .getPosixFilePermissions(scratch)));
    }

    @Test
    void deterministicAnswersComeFromTheCacheAndTheFiguresShowIt() {
        Deployment deployment = deploy(TestTrainingService.FIRST, unique("cached"), DeploymentOptions.newBuilder()
                .setCacheEnabled(true));
        CompletionRequest greedy = ask(deployment.getName(), 4, "Describe the image.", 10).build();
        CompletionResponse first = inference(APP).complete(greedy);
        CompletionResponse again = inference(APP).complete(greedy);
        assertFalse(first.getCached());
        assertTrue(again.getCached());
        assertEquals(first.getText(), again.getText());
        assertEquals(first.getUsage(), again.getUsage());
        // Another picture is another request.
        assertFalse(inference(APP).complete(ask(deployment.getName(), 5, "Describe the image.", 10).build())
                .getCached());
        // Sampling without a seed is never cached.
        CompletionRequest sampled = ask(deployment.getName(), 4, "Describe the image.", 10).setTemperature(1).build();
        inference(APP).complete(sampled);
        assertFalse(inference(APP).complete(sampled).getCached());

        Monitoring figures = deployments(ENGINEER).getMonitoring(GetMonitoringRequest.newBuilder()
                .setDeploymentId(deployment.getId())
                .build());
        assertTrue(figures.getTotal().getP50Ms() > 0, figures.toString());
        assertTrue(figures.getTimeToFirstToken().getP50Ms() > 0, figures.toString());
        assertTrue(figures.getTimeToFirstToken().getP50Ms() <= figures.getTotal().getP99Ms(), figures.toString());
        assertTrue(figures.getRequestsPerSecond() > 0, figures.toString());
        // Three deterministic requests, one of them answered from the cache.
        assertEquals(1.0 / 3, figures.getCacheHitRate(), 1e-9, figures.toString());
        assertEquals(0, figures.getQueueDepth());
        assertFailsWith(Status.Code.NOT_FOUND, () -> deployments("globex-engineer").getMonitoring(
                GetMonitoringRequest.newBuilder().setDeploymentId(deployment.getId()).build()));

        // Deployed with the cache off, the same request is generated again.
        String uncached = deploy(TestTrainingService.FIRST, unique("uncached"), DeploymentOptions.newBuilder()
                .setCacheEnabled(false)).getName();
        inference(APP).complete(ask(uncached, 4, "Describe the image.", 10).build());
        assertFalse(inference(APP).complete(ask(uncached, 4, "Describe the image.", 10).build()).getCached());
    }

    @Test
    void aBatchAnswersAsSerialRequestsAndStreamsTheSameText() throws Exception {
        String name = deploy(TestTrainingService.FIRST, unique("batched"), DeploymentOptions.newBuilder()
                .setMaxBatchSize(4)).getName();
        List<CompletionRequest> requests = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            requests.add(ask(name, 10 + i, i % 2 == 0 ? "Describe the image." : "What colour is the first shape?",
                    8 + i).build());
        }
        List<String> serial = new ArrayList<>();
        for (CompletionRequest request : requests) {
            serial.add(inference(APP).complete(request).getText());
        }
        ExecutorService clients = Executors.newFixedThreadPool(requests.size());
        try {
            List<Future<CompletionResponse>> concurrent = new ArrayList<>();
            for (CompletionRequest request : requests) {
                concurrent.add(clients.submit(() -> inference(APP).complete(request)));
            }
            for (int i = 0; i < requests.size(); i++) {
                assertEquals(serial.get(i), concurrent.get(i).get(120, TimeUnit.SECONDS).getText(), "request " + i);
            }
        } finally {
            clients.shutdownNow();
        }

        StringBuilder streamed = new StringBuilder();
        CompletionChunk last = null;
        for (Iterator<CompletionChunk> chunks = inference(APP).streamComplete(requests.get(0)); chunks.hasNext();) {
            last = chunks.next();
            streamed.append(last.getTextDelta());
        }
        assertEquals(serial.get(0), streamed.toString());
        assertFalse(last.getFinishReason().isEmpty());
        assertTrue(last.getUsage().getCompletionTokens() > 0);
        assertEquals(last.getUsage().getImageTokens() > 0, true);
    }

    @Test
    void aSchemaAlwaysYieldsJsonThatFollowsIt() throws Exception {
        String name = deploy(TestTrainingService.SECOND, unique("json"), DeploymentOptions.newBuilder()).getName();
        String schema = """
                {"type": "object", "properties": {"colour": {"enum": ["red", "green", "blue"]},
                 "count": {"type": "integer", "enum": [1, 2, 3]}}, "required": ["colour", "count"]}""";
        for (int scene = 0; scene < 4; scene++) {
            CompletionResponse answer = inference(APP).complete(ask(name, scene, "List the colours.", 120)
                    .setJsonSchema(schema)
                    .setTemperature(1)
                    .setSeed(scene)
                    .build());
            assertEquals("stop", answer.getFinishReason(), answer.getText());
            JsonNode document = JSON.readTree(answer.getText());
            assertTrue(List.of("red", "green", "blue").contains(document.get("colour").asText()), answer.getText());
            assertTrue(List.of(1, 2, 3).contains(document.get("count").asInt()), answer.getText());
            assertEquals(2, document.size());
        }
        StatusRuntimeException badSchema = assertFailsWith(Status.Code.INVALID_ARGUMENT,
                () -> inference(APP).complete(ask(name, 1, "List.", 8).setJsonSchema("{\"type\": \"object\", "
                        + "\"additionalProperties\": true}").build()));
        assertEquals("response_format.json_schema.schema", GrpcProblems.fromStatus(badSchema).field().orElseThrow());
    }

    @Test
    void badInputNamesTheFieldAndStopSequencesEndTheText() {
        String name = deploy(TestTrainingService.FIRST, unique("input"), DeploymentOptions.newBuilder()).getName();
        Map<String, CompletionRequest> bad = Map.of(
                "messages[0].content[0].image_url.url", ask(name, 1, "Describe.", 4)
                        .setMessages(0, Message.newBuilder()
                                .setRole("user")
                                .addContent(ContentPart.newBuilder().setImageUrl("https://example.com/a.png")))
                        .build(),
                "messages[0].role", ask(name, 1, "Describe.", 4)
                        .setMessages(0, Message.newBuilder().setRole("robot").addContent(
                                ContentPart.newBuilder().setText("hi")))
                        .build(),
                "temperature", ask(name, 1, "Describe.", 4).setTemperature(7).build(),
                "max_tokens", ask(name, 1, "Describe.", 4).setMaxTokens(0).build());
        bad.forEach((field, request) -> {
            StatusRuntimeException refused = assertFailsWith(Status.Code.INVALID_ARGUMENT,
                    () -> inference(APP).complete(request));
            assertEquals(field, GrpcProblems.fromStatus(refused).field().orElseThrow());
        });

        // Remote pictures: only from allowed hosts (these tests allow localhost), and never from a private address.
        for (String url : List.of("https://example.com/a.png", "https://localhost/a.png", "file:///etc/passwd")) {
            StatusRuntimeException refused = assertFailsWith(Status.Code.INVALID_ARGUMENT,
                    () -> inference(APP).complete(ask(name, 1, "Describe.", 4)
                            .setMessages(0, Message.newBuilder()
                                    .setRole("user")
                                    .addContent(ContentPart.newBuilder().setImageUrl(url)))
                            .build()));
            String detail = GrpcProblems.fromStatus(refused).detail();
            assertTrue(detail.contains(switch (url.substring(8, 12)) {
                case "exam" -> "not on the operator's allow-list";
                case "loca" -> "not a public address: loopback";
                default -> "must be a data: URL, or an https:// URL";
            }), detail);
        }

        String whole = inference(APP).complete(ask(name, 3, "Describe the image.", 12).build()).getText();
        assertTrue(whole.length() > 3, whole);
        String stop = whole.substring(2, 4);
        CompletionResponse cut = inference(APP).complete(ask(name, 3, "Describe the image.", 12).addStop(stop)
                .build());
        assertEquals(whole.substring(0, whole.indexOf(stop)), cut.getText());
        assertEquals("stop", cut.getFinishReason());
    }

    @Test
    void overloadIsRefusedWith429AndTheDeploymentRecovers() throws Exception {
        String name = deploy(TestTrainingService.FIRST, unique("busy"), DeploymentOptions.newBuilder()
                .setMaxBatchSize(2)
                .setMaxConcurrentSequences(2)).getName();
        int burst = 24;
        AtomicInteger refused = new AtomicInteger();
        AtomicInteger answered = new AtomicInteger();
        ExecutorService clients = Executors.newFixedThreadPool(burst);
        try {
            List<Future<?>> calls = new ArrayList<>();
            for (int i = 0; i < burst; i++) {
                calls.add(clients.submit(() -> {
                    try {
                        inference(APP).complete(ask(name, 1, "Describe the image.", 24).build());
                        answered.incrementAndGet();
                    } catch (StatusRuntimeException e) {
                        assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode());
                        refused.incrementAndGet();
                    }
                }));
            }
            for (Future<?> call : calls) {
                call.get(120, TimeUnit.SECONDS);
            }
        } finally {
            clients.shutdownNow();
        }
        assertTrue(refused.get() > 0, "nothing was refused");
        assertTrue(answered.get() >= 2, "only " + answered.get() + " answered");
        assertEquals(burst, refused.get() + answered.get());
        assertFalse(inference(APP).complete(ask(name, 1, "Describe the image.", 4).build()).getText().isEmpty());
    }

    @Test
    void aQuarantinedVersionIsSuspendedAndEveryRequestIsAudited() throws Exception {
        Deployment deployment = deploy(TestTrainingService.TO_QUARANTINE, unique("watched"),
                DeploymentOptions.newBuilder());
        CompletionResponse answer = inference(APP).complete(ask(deployment.getName(), 1, "Describe the image.", 6)
                .build());
        TestTrainingService.STATES.put(TestTrainingService.TO_QUARANTINE,
                ModelVersionState.MODEL_VERSION_STATE_QUARANTINED);
        GetDeploymentRequest get = GetDeploymentRequest.newBuilder().setDeploymentId(deployment.getId()).build();
        await().atMost(30, TimeUnit.SECONDS)
                .until(() -> deployments(ENGINEER).getDeployment(get)
                        .getState() == DeploymentState.DEPLOYMENT_STATE_SUSPENDED);
        assertTrue(deployments(ENGINEER).getDeployment(get).getFailureReason().contains("quarantined"));
        assertFailsWith(Status.Code.FAILED_PRECONDITION, () -> inference(APP).complete(ask(deployment.getName(), 1,
                "Describe the image.", 6).build()));

        List<AuditEvent> events = outboxEventsAbout(deployment.getId());
        List<String> actions = events.stream().map(AuditEvent::getAction).toList();
        assertEquals(List.of("deployment.created", "inference.completion", "deployment.suspended",
                "inference.completion"), actions);
        assertEquals(Outcome.OUTCOME_DENIED, events.get(3).getOutcome());
        AuditEvent completion = events.get(1);
        assertEquals(APP, completion.getActor().getActor().getUsername());
        assertEquals(Outcome.OUTCOME_SUCCESS, completion.getOutcome());
        assertEquals(answer.getUsage().getCompletionTokens(),
                (int) completion.getDetails().getFieldsOrThrow("completion_tokens").getNumberValue());
        // Neither the prompt nor the answer is in the trail.
        assertFalse(completion.toString().contains("Describe the image"));
    }

    @Test
    void shiftedPicturesRaiseADriftEventAndInDistributionTrafficDoesNot() throws Exception {
        Deployment deployment = deploy(TestTrainingService.FIRST, unique("drift"), DeploymentOptions.newBuilder());
        GetMonitoringRequest monitoring = GetMonitoringRequest.newBuilder().setDeploymentId(deployment.getId())
                .build();
        // Scenes like the reference's (another seed): every feature assessed, none drifting, no event.
        askAbout(deployment.getName(), 2000, WINDOW, UnaryOperator.identity());
        await().atMost(30, TimeUnit.SECONDS)
                .until(() -> statistic(deployments(ENGINEER).getMonitoring(monitoring), "image_embedding_distance")
                        .getAssessed());
        Thread.sleep(2500); // two drift checks
        Monitoring calm = deployments(ENGINEER).getMonitoring(monitoring);
        assertTrue(calm.getDriftMonitored());
        assertEquals(List.of(), calm.getDriftEventsList());
        assertFalse(calm.getDrifting());
        for (String feature : List.of("image_brightness", "image_contrast", "image_width", "image_height",
                "image_aspect_ratio", "image_embedding_distance")) {
            DriftStatistic statistic = statistic(calm, feature);
            assertTrue(statistic.getAssessed(), feature);
            assertFalse(statistic.getDrifted(), () -> feature + ": " + statistic);
        }

        // The same kind of scenes in a dim room: an event is raised (by the first check that sees the window shift,
        // whichever picture features cross first) and audited; once the window holds only dim pictures, brightness
        // and contrast drift, and size does not.
        askAbout(deployment.getName(), 3000, WINDOW, SyntheticScenes::dimmed);
        await().atMost(30, TimeUnit.SECONDS)
                .until(() -> statistic(deployments(ENGINEER).getMonitoring(monitoring), "image_brightness")
                        .getDrifted() && deployments(ENGINEER).getMonitoring(monitoring).getDriftEventsCount() > 0);
        Monitoring shifted = deployments(ENGINEER).getMonitoring(monitoring);
        assertTrue(shifted.getDrifting());
        assertTrue(statistic(shifted, "image_contrast").getDrifted());
        assertFalse(statistic(shifted, "image_width").getDrifted());
        assertTrue(statistic(shifted, "image_brightness").getLive() < statistic(shifted, "image_brightness")
                .getReference());
        DriftEvent event = shifted.getDriftEvents(shifted.getDriftEventsCount() - 1);
        assertEquals("drift_detected", event.getKind());
        List<String> drifted = event.getFeaturesList().stream().filter(DriftStatistic::getDrifted)
                .map(DriftStatistic::getName).toList();
        assertFalse(drifted.isEmpty());
        assertTrue(drifted.stream().allMatch(name -> name.startsWith("image_") && !name.equals("image_width")),
                drifted::toString);
        AuditEvent audited = outboxEventsAbout(deployment.getId()).stream()
                .filter(e -> e.getAction().equals("deployment.drift_detected")).findFirst().orElseThrow();
        assertEquals(event.getId(), audited.getDetails().getFieldsOrThrow("drift_event_id").getStringValue());
        assertTrue(audited.getDetails().getFieldsOrThrow("drifted").getStringValue().contains(drifted.get(0)));

        // Another tenant sees neither the deployment nor its monitoring.
        assertFailsWith(Status.Code.NOT_FOUND, () -> deployments("globex-engineer").getMonitoring(monitoring));
    }

    /** Scenes the reference's seed never drew, changed, asked about in a few parallel streams. */
    private void askAbout(String deployment, int firstScene, int count, UnaryOperator<BufferedImage> change)
            throws Exception {
        SyntheticScenes scenes = new SyntheticScenes(TestTrainingService.REFERENCE_SEED + 1);
        ExecutorService clients = Executors.newFixedThreadPool(4);
        try {
            List<Future<CompletionResponse>> answers = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                byte[] png = SyntheticScenes.png(change.apply(SyntheticScenes.render(scenes.scene(firstScene + i))));
                CompletionRequest request = CompletionRequest.newBuilder()
                        .setDeploymentId(deployment)
                        .addMessages(Message.newBuilder()
                                .setRole("user")
                                .addContent(ContentPart.newBuilder().setImageUrl("data:image/png;base64,"
                                        + Base64.getEncoder().encodeToString(png)))
                                .addContent(ContentPart.newBuilder().setText("Describe the image.")))
                        .setMaxTokens(1)
                        .setTemperature(0)
                        .build();
                answers.add(clients.submit(() -> inference(APP).complete(request)));
                // Paced so that the drift measures keep up: each answer's pictures take a pass of the model.
                if (answers.size() % 16 == 0) {
                    answers.get(answers.size() - 1).get();
                }
            }
            for (Future<CompletionResponse> answer : answers) {
                answer.get();
            }
        } finally {
            clients.shutdownNow();
        }
    }

    private static DriftStatistic statistic(Monitoring monitoring, String name) {
        return monitoring.getDriftList().stream().filter(s -> s.getName().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no " + name + " in " + monitoring.getDriftList()));
    }

    private List<AuditEvent> outboxEventsAbout(String resourceId) throws Exception {
        return OutboxEvents.about(jdbcUrl, dbUser, dbPassword, resourceId);
    }
}
