package dev.loupe.serving;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.quarkus.test.junit.QuarkusTest;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.loupe.contracts.common.v1.PageRequest;
import dev.loupe.contracts.governance.v1.AuditEvent;
import dev.loupe.contracts.serving.v1.Batch;
import dev.loupe.contracts.serving.v1.BatchResult;
import dev.loupe.contracts.serving.v1.BatchServiceGrpc;
import dev.loupe.contracts.serving.v1.BatchServiceGrpc.BatchServiceBlockingStub;
import dev.loupe.contracts.serving.v1.BatchSplit;
import dev.loupe.contracts.serving.v1.BatchState;
import dev.loupe.contracts.serving.v1.CancelBatchRequest;
import dev.loupe.contracts.serving.v1.CompletionRequest;
import dev.loupe.contracts.serving.v1.ContentPart;
import dev.loupe.contracts.serving.v1.CreateBatchRequest;
import dev.loupe.contracts.serving.v1.CreateDeploymentRequest;
import dev.loupe.contracts.serving.v1.DeleteDeploymentRequest;
import dev.loupe.contracts.serving.v1.Deployment;
import dev.loupe.contracts.serving.v1.DeploymentOptions;
import dev.loupe.contracts.serving.v1.EvaluationRun;
import dev.loupe.contracts.serving.v1.GetBatchRequest;
import dev.loupe.contracts.serving.v1.GetMonitoringRequest;
import dev.loupe.contracts.serving.v1.InferenceServiceGrpc;
import dev.loupe.contracts.serving.v1.ListBatchResultsRequest;
import dev.loupe.contracts.serving.v1.ListBatchResultsResponse;
import dev.loupe.contracts.serving.v1.ListBatchesRequest;
import dev.loupe.contracts.serving.v1.Message;
import dev.loupe.contracts.serving.v1.ServingServiceGrpc;
import dev.loupe.contracts.serving.v1.ServingServiceGrpc.ServingServiceBlockingStub;
import dev.loupe.support.error.GrpcProblems;
import dev.loupe.support.grpc.BearerCallCredentials;
import dev.loupe.support.testing.KeycloakTokens;
import dev.loupe.support.testing.OutboxEvents;

import static dev.loupe.support.testing.GrpcAuthenticationContract.assertFailsWith;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Batch inference with real Keycloak tokens and PostgreSQL: examples from the stand-in dataset-service
 * ({@link TestDatasetService}), answers from a deployment of the stand-in registry's versions.
 */
@QuarkusTest
class BatchTest {
    private static final String ENGINEER = "acme-engineer";
    private static final String APP = "acme-app";

    @ConfigProperty(name = "quarkus.datasource.jdbc.url")
    String jdbcUrl;
    @ConfigProperty(name = "quarkus.datasource.username")
    String dbUser;
    @ConfigProperty(name = "quarkus.datasource.password")
    String dbPassword;

    private ManagedChannel channel;
    private Deployment deployment;

    @BeforeEach
    void deploy() {
        channel = ManagedChannelBuilder.forAddress("localhost", 18083).usePlaintext().build();
        deployment = ServingServiceGrpc.newBlockingStub(channel)
                .withCallCredentials(credentials(ENGINEER))
                .withDeadlineAfter(120, TimeUnit.SECONDS)
                .createDeployment(CreateDeploymentRequest.newBuilder()
                        .setModelVersionId(TestTrainingService.FIRST)
                        .setName("batches-" + java.util.UUID.randomUUID().toString().substring(0, 8))
                        .setOptions(DeploymentOptions.newBuilder().setCacheEnabled(false))
                        .build());
    }

    @AfterEach
    void cleanUp() throws InterruptedException {
        ServingServiceGrpc.newBlockingStub(channel).withCallCredentials(credentials(ENGINEER))
                .deleteDeployment(DeleteDeploymentRequest.newBuilder().setDeploymentId(deployment.getId()).build());
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    private static BearerCallCredentials credentials(String user) {
        return new BearerCallCredentials(KeycloakTokens.accessToken(user), null);
    }

    private BatchServiceBlockingStub batches(String user) {
        return BatchServiceGrpc.newBlockingStub(channel)
                .withCallCredentials(credentials(user))
                .withDeadlineAfter(60, TimeUnit.SECONDS);
    }

    private CreateBatchRequest.Builder batchOf(String version) {
        return CreateBatchRequest.newBuilder()
                .setDeploymentId(deployment.getName())
                .setDatasetVersionId(version)
                .setMaxTokens(8);
    }

    private Batch finished(String user, String id) {
        GetBatchRequest get = GetBatchRequest.newBuilder().setBatchId(id).build();
        await().atMost(90, TimeUnit.SECONDS).until(() -> {
            BatchState state = batches(user).getBatch(get).getState();
            return state != BatchState.BATCH_STATE_QUEUED && state != BatchState.BATCH_STATE_RUNNING;
        });
        return batches(user).getBatch(get);
    }

    @Test
    void aBatchAnswersEveryExampleAsALiveRequestWouldAndKeepsTheAnswersSealed() throws Exception {
        TestDatasetService.READS.clear();
        Batch created = batches(APP).createBatch(batchOf(TestDatasetService.VERSION).build());
        assertEquals(deployment.getId(), created.getDeploymentId());
        assertEquals(BatchSplit.BATCH_SPLIT_VALIDATION, created.getSplit());

        Batch batch = finished(APP, created.getId());
        assertEquals(BatchState.BATCH_STATE_SUCCEEDED, batch.getState(), batch.getFailureReason());
        assertEquals(12, batch.getTotal());
        assertEquals(11, batch.getCompleted());
        assertEquals(1, batch.getFailed());
        assertTrue(batch.hasFinishedAt());

        // Every answer, in manifest order, over pages.
        List<BatchResult> results = new ArrayList<>();
        String after = "";
        do {
            ListBatchResultsResponse page = batches(APP).listBatchResults(ListBatchResultsRequest.newBuilder()
                    .setBatchId(batch.getId())
                    .setPage(PageRequest.newBuilder().setLimit(5).setAfter(after))
                    .build());
            results.addAll(page.getResultsList());
            after = page.getPage().getNextAfter();
        } while (!after.isEmpty());
        assertEquals(List.of(2L, 5L, 8L, 11L, 14L, 17L, 20L, 23L, 26L, 29L, 32L, 35L),
                results.stream().map(BatchResult::getPosition).toList());
        BatchResult tooManyPictures = results.get(11);
        assertEquals("error", tooManyPictures.getFinishReason());
        assertTrue(tooManyPictures.getError().contains("8 images at most"), tooManyPictures.getError());

        // Each answer is the one a live greedy request gets.
        for (BatchResult result : results.subList(0, 3)) {
            assertEquals("record-" + result.getPosition(), result.getRecordId());
            assertTrue(result.getUsage().getCompletionTokens() > 0);
            String live = InferenceServiceGrpc.newBlockingStub(channel)
                    .withCallCredentials(credentials(APP))
                    .complete(CompletionRequest.newBuilder()
                            .setDeploymentId(deployment.getName())
                            .addMessages(Message.newBuilder()
                                    .setRole("user")
                                    .addContent(ContentPart.newBuilder().setImageUrl("data:image/png;base64,"
                                            + Base64.getEncoder().encodeToString(TestDatasetService.png(result
                                                    .getPosition()))))
                                    .addContent(ContentPart.newBuilder().setText(TestDatasetService.QUESTION)))
                            .setMaxTokens(8)
                            .setTemperature(0)
                            .build())
                    .getText();
            assertEquals(live, result.getText());
        }

        // The stored answers are sealed: no answer's text is in the database.
        try (Connection db = DriverManager.getConnection(jdbcUrl, dbUser, dbPassword);
                PreparedStatement query = db.prepareStatement("SELECT sealed_text FROM batch_result WHERE batch_id"
                        + " = ? ORDER BY position")) {
            query.setString(1, batch.getId());
            try (ResultSet rows = query.executeQuery()) {
                int i = 0;
                while (rows.next()) {
                    String stored = new String(rows.getBytes(1), StandardCharsets.ISO_8859_1);
                    assertTrue(stored.startsWith("LOUPEBR1"));
                    String answer = results.get(i++).getText();
                    assertFalse(answer.length() > 3 && stored.contains(answer), answer);
                }
                assertEquals(12, i);
            }
        }

        // The dataset read named the batch, the tenant and the user; the trail has the batch's life.
        assertTrue(TestDatasetService.READS.stream().allMatch(read -> read.getJobId().equals("batch:" + batch
                .getId()) && read.getTenant().equals("acme") && read.getOnBehalfOf().getUsername().equals(APP)));
        List<String> actions = OutboxEvents.about(jdbcUrl, dbUser, dbPassword, batch.getId()).stream()
                .map(AuditEvent::getAction).toList();
        assertEquals(List.of("batch.created", "batch.succeeded", "batch.results_read", "batch.results_read",
                "batch.results_read"), actions);
    }

    @Test
    void badRequestsNameTheirFieldAndOtherTenantsSeeNoBatch() {
        Map<String, CreateBatchRequest> invalid = Map.of(
                "dataset_version", batchOf("not-a-version").build(),
                "split", batchOf(TestDatasetService.NO_VALIDATION).build(),
                "max_tokens", batchOf(TestDatasetService.VERSION).setMaxTokens(0).build(),
                "temperature", batchOf(TestDatasetService.VERSION).setTemperature(3).build(),
                "response_format.json_schema.schema", batchOf(TestDatasetService.VERSION).setJsonSchema("{").build());
        invalid.forEach((field, request) -> {
            StatusRuntimeException refused = assertFailsWith(Status.Code.INVALID_ARGUMENT,
                    () -> batches(APP).createBatch(request));
            assertEquals(field, GrpcProblems.fromStatus(refused).field().orElseThrow());
        });
        StatusRuntimeException noVersion = assertFailsWith(Status.Code.NOT_FOUND,
                () -> batches(APP).createBatch(batchOf("0190a4c4-0000-7000-8000-0000000000ff").build()));
        assertEquals("dataset_version", GrpcProblems.fromStatus(noVersion).field().orElseThrow());
        StatusRuntimeException noDeployment = assertFailsWith(Status.Code.NOT_FOUND,
                () -> batches(APP).createBatch(batchOf(TestDatasetService.VERSION).setDeploymentId("nothing")
                        .build()));
        assertEquals("model", GrpcProblems.fromStatus(noDeployment).field().orElseThrow());
        // Compliance officers do not call inference; another tenant sees neither the deployment nor the batch.
        assertFailsWith(Status.Code.PERMISSION_DENIED,
                () -> batches("acme-compliance").createBatch(batchOf(TestDatasetService.VERSION).build()));
        assertFailsWith(Status.Code.NOT_FOUND,
                () -> batches("globex-app").createBatch(batchOf(TestDatasetService.VERSION).build()));

        Batch batch = batches(ENGINEER).createBatch(batchOf(TestDatasetService.VERSION).build());
        GetBatchRequest get = GetBatchRequest.newBuilder().setBatchId(batch.getId()).build();
        assertFailsWith(Status.Code.NOT_FOUND, () -> batches("globex-app").getBatch(get));
        assertFailsWith(Status.Code.NOT_FOUND, () -> batches("globex-app").cancelBatch(CancelBatchRequest
                .newBuilder().setBatchId(batch.getId()).build()));
        assertFailsWith(Status.Code.NOT_FOUND, () -> batches("globex-app").listBatchResults(ListBatchResultsRequest
                .newBuilder().setBatchId(batch.getId()).build()));
        assertTrue(batches("globex-app").listBatches(ListBatchesRequest.getDefaultInstance()).getBatchesList()
                .stream().noneMatch(listed -> listed.getId().equals(batch.getId())));
        assertTrue(batches(APP).listBatches(ListBatchesRequest.getDefaultInstance()).getBatchesList().stream()
                .anyMatch(listed -> listed.getId().equals(batch.getId())));
        finished(ENGINEER, batch.getId());
    }

    @Test
    void aCancelledBatchStopsAndKeepsWhatItAnswered() throws Exception {
        Batch batch = batches(APP).createBatch(batchOf(TestDatasetService.LONG_VERSION).setMaxTokens(16).build());
        GetBatchRequest get = GetBatchRequest.newBuilder().setBatchId(batch.getId()).build();
        await().atMost(60, TimeUnit.SECONDS).until(() -> batches(APP).getBatch(get).getCompleted() > 0);
        Batch cancelled = batches(APP).cancelBatch(CancelBatchRequest.newBuilder().setBatchId(batch.getId())
                .build());
        assertEquals(BatchState.BATCH_STATE_CANCELLED, cancelled.getState());
        assertFailsWith(Status.Code.FAILED_PRECONDITION, () -> batches(APP).cancelBatch(CancelBatchRequest
                .newBuilder().setBatchId(batch.getId()).build()));
        Thread.sleep(3000);
        Batch after = batches(APP).getBatch(get);
        assertEquals(BatchState.BATCH_STATE_CANCELLED, after.getState());
        assertTrue(after.getCompleted() < 300, "completed " + after.getCompleted());
        int stored = batches(APP).listBatchResults(ListBatchResultsRequest.newBuilder()
                .setBatchId(batch.getId()).setPage(PageRequest.newBuilder().setLimit(100)).build())
                .getResultsCount();
        assertEquals(Math.min(100, after.getCompleted()), stored, "the answers stored before the cancel stay");
        Thread.sleep(2000);
        assertEquals(after.getCompleted(), batches(APP).getBatch(get).getCompleted(), "no answer after the cancel");
        List<String> actions = OutboxEvents.about(jdbcUrl, dbUser, dbPassword, batch.getId()).stream()
                .map(AuditEvent::getAction).toList();
        assertTrue(actions.contains("batch.cancelled"), actions::toString);
    }

    @Test
    void aScheduledEvaluationScoresTheDeploymentOnItsVersionAndRaisesARegression() throws Exception {
        ServingServiceBlockingStub serving = ServingServiceGrpc.newBlockingStub(channel)
                .withCallCredentials(credentials(ENGINEER))
                .withDeadlineAfter(120, TimeUnit.SECONDS);
        Deployment evaluated = serving.createDeployment(CreateDeploymentRequest.newBuilder()
                .setModelVersionId(TestTrainingService.SECOND)
                .setName("evaluated-" + java.util.UUID.randomUUID().toString().substring(0, 8))
                .setOptions(DeploymentOptions.newBuilder()
                        .setEvaluationSchedule("0/2 * * * * ?")
                        .setEvaluationDatasetVersionId(TestDatasetService.VERSION))
                .build());
        try {
            assertEquals("0/2 * * * * ?", evaluated.getOptions().getEvaluationSchedule());
            GetMonitoringRequest monitoring = GetMonitoringRequest.newBuilder().setDeploymentId(evaluated.getId())
                    .build();
            await().atMost(60, TimeUnit.SECONDS)
                    .until(() -> serving.getMonitoring(monitoring).getEvaluationsCount() > 0);
            EvaluationRun run = serving.getMonitoring(monitoring).getEvaluations(0);
            assertEquals(TestDatasetService.VERSION, run.getDatasetVersionId());
            assertEquals(11, run.getExamples());
            assertEquals(1, run.getFailedExamples(), "the example with nine pictures");
            // A random adapter never gives the examples' answer: far below the version's training-time score.
            assertEquals(0.0, run.getMetricsOrThrow("exact_match"));
            assertEquals(0.9, run.getTrainingMetricsOrThrow("exact_match"));
            assertTrue(run.getRegression());
            assertEquals(List.of("exact_match"), run.getRegressedList());
            List<AuditEvent> events = OutboxEvents.about(jdbcUrl, dbUser, dbPassword, evaluated.getId());
            AuditEvent alert = events.stream().filter(e -> e.getAction().equals("deployment.evaluation_regressed"))
                    .findFirst().orElseThrow(() -> new AssertionError(events));
            assertEquals(run.getId(), alert.getDetails().getFieldsOrThrow("evaluation_run_id").getStringValue());
            assertTrue(events.stream().anyMatch(e -> e.getAction().equals("deployment.evaluated")));
            assertFailsWith(Status.Code.NOT_FOUND, () -> ServingServiceGrpc.newBlockingStub(channel)
                    .withCallCredentials(credentials("globex-engineer")).getMonitoring(monitoring));
        } finally {
            serving.deleteDeployment(DeleteDeploymentRequest.newBuilder().setDeploymentId(evaluated.getId()).build());
        }
        // The deployment without a schedule was never evaluated.
        assertEquals(0, serving.getMonitoring(GetMonitoringRequest.newBuilder().setDeploymentId(deployment.getId())
                .build()).getEvaluationsCount());
    }

    @Test
    void anEvaluationScheduleNeedsACronExpressionAndAVersionOfTheTenant() {
        ServingServiceBlockingStub serving = ServingServiceGrpc.newBlockingStub(channel)
                .withCallCredentials(credentials(ENGINEER))
                .withDeadlineAfter(120, TimeUnit.SECONDS);
        Map<String, DeploymentOptions.Builder> invalid = Map.of(
                "options.evaluation_schedule", DeploymentOptions.newBuilder().setEvaluationSchedule("every night")
                        .setEvaluationDatasetVersionId(TestDatasetService.VERSION),
                "options.evaluation_dataset_version_id", DeploymentOptions.newBuilder()
                        .setEvaluationSchedule("0 0 2 * * ?"));
        invalid.forEach((field, options) -> {
            StatusRuntimeException refused = assertFailsWith(Status.Code.INVALID_ARGUMENT,
                    () -> serving.createDeployment(CreateDeploymentRequest.newBuilder()
                            .setModelVersionId(TestTrainingService.SECOND)
                            .setOptions(options)
                            .build()));
            assertEquals(field, GrpcProblems.fromStatus(refused).field().orElseThrow());
        });
        StatusRuntimeException unknown = assertFailsWith(Status.Code.NOT_FOUND,
                () -> serving.createDeployment(CreateDeploymentRequest.newBuilder()
                        .setModelVersionId(TestTrainingService.SECOND)
                        .setOptions(DeploymentOptions.newBuilder().setEvaluationSchedule("0 0 2 * * ?")
                                .setEvaluationDatasetVersionId("0190a4c4-0000-7000-8000-0000000000ff"))
                        .build()));
        assertEquals("options.evaluation_dataset_version_id", GrpcProblems.fromStatus(unknown).field().orElseThrow());
    }
}
