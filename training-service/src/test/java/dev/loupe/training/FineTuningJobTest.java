package dev.loupe.training;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import jakarta.inject.Inject;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.quarkus.test.junit.QuarkusTest;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.loupe.contracts.common.v1.PageRequest;
import dev.loupe.contracts.dataset.v1.Split;
import dev.loupe.contracts.dataset.v1.StreamExamplesRequest;
import dev.loupe.contracts.governance.v1.AuditEvent;
import dev.loupe.contracts.governance.v1.Outcome;
import dev.loupe.contracts.training.v1.Checkpoint;
import dev.loupe.contracts.training.v1.CreateJobRequest;
import dev.loupe.contracts.training.v1.CreateJobResponse;
import dev.loupe.contracts.training.v1.EventType;
import dev.loupe.contracts.training.v1.ExportModelVersionRequest;
import dev.loupe.contracts.training.v1.FindModelsTrainedOnRequest;
import dev.loupe.contracts.training.v1.FineTuningJob;
import dev.loupe.contracts.training.v1.GetJobRequest;
import dev.loupe.contracts.training.v1.GetModelVersionRequest;
import dev.loupe.contracts.training.v1.GetModelVersionStatesRequest;
import dev.loupe.contracts.training.v1.Hyperparameters;
import dev.loupe.contracts.training.v1.JobActionRequest;
import dev.loupe.contracts.training.v1.JobEvent;
import dev.loupe.contracts.training.v1.JobState;
import dev.loupe.contracts.training.v1.Lineage;
import dev.loupe.contracts.training.v1.ListCheckpointsRequest;
import dev.loupe.contracts.training.v1.ListJobsRequest;
import dev.loupe.contracts.training.v1.LoadModelVersionForServingRequest;
import dev.loupe.contracts.training.v1.LoraSettings;
import dev.loupe.contracts.training.v1.Method;
import dev.loupe.contracts.training.v1.ModelVersion;
import dev.loupe.contracts.training.v1.ModelVersionState;
import dev.loupe.contracts.training.v1.Precision;
import dev.loupe.contracts.training.v1.ReviewModelVersionRequest;
import dev.loupe.contracts.training.v1.ServingArtifact;
import dev.loupe.contracts.training.v1.TrainingMethod;
import dev.loupe.contracts.training.v1.TrainingServiceGrpc;
import dev.loupe.contracts.training.v1.TrainingServiceGrpc.TrainingServiceBlockingStub;
import dev.loupe.contracts.training.v1.WatchJobEventsRequest;
import dev.loupe.support.error.GrpcProblems;
import dev.loupe.support.error.ProblemException;
import dev.loupe.support.error.ProblemType;
import dev.loupe.support.grpc.BearerCallCredentials;
import dev.loupe.support.testing.KeycloakTokens;
import dev.loupe.training.worker.LocalWorkers;

import static dev.loupe.support.testing.GrpcAuthenticationContract.assertFailsWith;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Fine-tuning jobs over gRPC with real Keycloak tokens, PostgreSQL and real trainer workers (child JVMs training
 * the committed tiny base model), fed by the stand-in dataset-service of these tests ({@link TestExampleService}).
 */
@QuarkusTest
class FineTuningJobTest {
    static final String TRAIN_VERSION = "0190a4c4-0000-7000-8000-00000000000a";
    static final String NO_VALIDATION_VERSION = "0190a4c4-0000-7000-8000-00000000000b";
    static final String LONG_VERSION = "0190a4c4-0000-7000-8000-00000000000c";
    static final String ENGINEER = "acme-engineer";
    static final String LEAD = "acme-lead";

    @ConfigProperty(name = "quarkus.datasource.jdbc.url")
    String jdbcUrl;
    @ConfigProperty(name = "quarkus.datasource.username")
    String dbUser;
    @ConfigProperty(name = "quarkus.datasource.password")
    String dbPassword;
    @Inject
    LocalWorkers workers;

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

    /** A LoRA job on the tiny base: 48 scenes, 4 epochs of batches of 8 (24 steps). */
    static CreateJobRequest.Builder loraJob(String version) {
        return CreateJobRequest.newBuilder()
                .setModel("loupe-tiny-base")
                .setDatasetVersionId(version)
                .setMethod(Method.newBuilder()
                        .setType(TrainingMethod.TRAINING_METHOD_LORA)
                        .setLora(LoraSettings.newBuilder()
                                .setRank(8)
                                .setAlpha(16)
                                .setDropout(0)
                                .addAllTargetModules(List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj",
                                        "up_proj", "down_proj"))))
                .setHyperparameters(Hyperparameters.newBuilder()
                        .setEpochs(4)
                        .setBatchSize(8)
                        .setLearningRate(3e-3)
                        .setWarmupRatio(0.1))
                .setSeed(7)
                .setSuffix("colours");
    }

    @Test
    void aLoraJobStreamsItsExamplesTrainsEvaluatesAndSucceeds() throws Exception {
        // Started by the tenant's lead, an engineer and a compliance officer in one: the four-eyes case below.
        FineTuningJob created = as(LEAD).createJob(loraJob(TRAIN_VERSION).build()).getJob();

        assertEquals(JobState.JOB_STATE_QUEUED, created.getState());
        assertEquals("loupe-tiny-base", created.getModel());
        assertEquals(TestExampleService.DATASET_ID, created.getDatasetId());
        assertEquals("validation", created.getValidationSplit());
        assertEquals(8, created.getHyperparameters().getBatchSize());
        // Unset values show the defaults they took.
        assertEquals(1.0, created.getHyperparameters().getMaxGradNorm());
        assertEquals(Precision.PRECISION_FP32, created.getHyperparameters().getPrecision());
        assertTrue(created.getMethod().getFreezeVisionEncoder());
        assertTrue(created.getEstimatedMemoryBytes() > 1L << 30);
        assertEquals(LEAD, created.getCreatedBy().getUsername());

        FineTuningJob done = awaitJob(created.getId(), Duration.ofMinutes(4),
                job -> job.getState() == JobState.JOB_STATE_SUCCEEDED || job.getState() == JobState.JOB_STATE_FAILED);
        List<JobEvent> events = allEvents(created.getId());
        assertEquals(JobState.JOB_STATE_SUCCEEDED, done.getState(), done.getFailureReason() + "\n" + messages(events));
        assertEquals(24, done.getTotalSteps());
        assertEquals(24, done.getTrainedSteps());
        assertEquals(1, done.getAttempt());
        assertTrue(done.hasStartedAt() && done.hasFinishedAt());

        // The fine-tuned model beats the base on the validation split of a task the base never saw.
        double baseLoss = done.getBaseEvaluationOrThrow("loss");
        double tunedLoss = done.getEvaluationOrThrow("loss");
        assertTrue(tunedLoss < baseLoss / 2, "validation loss " + baseLoss + " -> " + tunedLoss);
        assertEquals(16.0, done.getEvaluationOrThrow("examples"));
        // The answers are JSON objects: they are also scored field by field.
        assertTrue(done.getEvaluationMap().keySet().containsAll(List.of("field_f1", "json_valid")),
                done.getEvaluationMap().toString());
        assertTrue(done.getEvaluationOrThrow("token_accuracy") > done.getBaseEvaluationOrThrow("token_accuracy"));

        // Events: gapless, from the creation to the end, with a metrics event per step.
        for (int i = 0; i < events.size(); i++) {
            assertEquals(i + 1, events.get(i).getSequence());
        }
        assertTrue(events.get(0).getMessage().startsWith("Job created: 48 training and 16 validation examples"));
        assertTrue(events.get(events.size() - 1).getMessage().startsWith("Job succeeded"), messages(events));
        List<JobEvent> steps = events.stream()
                .filter(e -> e.getType() == EventType.EVENT_TYPE_METRICS && e.getMessage().startsWith("Step "))
                .toList();
        assertEquals(24, steps.size());
        assertTrue(steps.get(0).getMetricsMap().keySet().containsAll(List.of("step", "loss", "learning_rate")));

        // One checkpoint per epoch, each with its step's metrics and the hash of its files.
        List<Checkpoint> checkpoints = as("acme-compliance")
                .listCheckpoints(ListCheckpointsRequest.newBuilder().setJobId(created.getId()).build())
                .getCheckpointsList();
        assertEquals(List.of(6L, 12L, 18L, 24L), checkpoints.stream().map(Checkpoint::getStep).toList());
        assertEquals(64, checkpoints.get(3).getContentHash().length());
        assertTrue(checkpoints.get(3).getMetricsMap().containsKey("loss"));

        // The worker read both splits once, with the service's own account, naming the job, tenant and user.
        // (Other tests' jobs may read at the same time: only this job's reads count.)
        List<StreamExamplesRequest> reads = TestExampleService.REQUESTS.stream()
                .filter(read -> read.getJobId().equals(created.getId()))
                .toList();
        assertEquals(List.of(Split.SPLIT_TRAIN, Split.SPLIT_VALIDATION),
                reads.stream().map(StreamExamplesRequest::getSplit).toList());
        for (StreamExamplesRequest read : reads) {
            assertEquals(created.getId(), read.getJobId());
            assertEquals("acme", read.getTenant());
            assertEquals(LEAD, read.getOnBehalfOf().getUsername());
        }
        assertTrue(TestExampleService.CALLERS.stream().allMatch("loupe-training-service"::equals));

        // No example was written to the job's folder, and the weights left it once sealed in the model version.
        Path folder = Path.of("target/test-jobs", created.getId());
        try (var files = Files.walk(folder)) {
            assertEquals(java.util.Set.of("job-spec.json", "worker.log", "evaluation.json"), files
                    .filter(Files::isRegularFile)
                    .map(file -> file.getFileName().toString())
                    .collect(java.util.stream.Collectors.toSet()));
        }

        List<String> audited = TestClients.outboxEventsAbout(jdbcUrl, dbUser, dbPassword, created.getId())
                .stream()
                .map(AuditEvent::getAction)
                .toList();
        assertEquals(List.of("training.job.created", "training.job.succeeded"), audited);

        checkTheRegisteredModelVersion(done);

        // The live stream replays what happened and ends, since the job has ended.
        List<JobEvent> watched = new ArrayList<>();
        as("acme-admin").watchJobEvents(WatchJobEventsRequest.newBuilder()
                .setJobId(created.getId())
                .setAfterSequence(events.size() - 3)
                .build()).forEachRemaining(watched::add);
        assertEquals(events.subList(events.size() - 3, events.size()), watched);
    }

    /** The version a succeeded job registered: lineage, sealed weights, review, export, lineage search. */
    private void checkTheRegisteredModelVersion(FineTuningJob job) throws Exception {
        String id = job.getResultModelVersionId();
        ModelVersion version = as("acme-compliance").getModelVersion(GetModelVersionRequest.newBuilder()
                .setModelVersionId(id)
                .build());
        assertEquals(ModelVersionState.MODEL_VERSION_STATE_PENDING_REVIEW, version.getState());
        assertEquals("loupe-tiny-base:colours:" + id.substring(0, 8), version.getName());
        assertEquals(job.getId(), version.getJobId());
        assertEquals("adapter", version.getArtifactKind());
        assertEquals(job.getEvaluationMap(), version.getEvaluationMap());
        assertEquals(job.getBaseEvaluationMap(), version.getBaseEvaluationMap());
        Lineage lineage = version.getLineage();
        assertEquals(TRAIN_VERSION, lineage.getDatasetVersionId());
        assertEquals(job.getManifestHash(), lineage.getManifestHash());
        assertEquals(48, lineage.getTrainedRecordCount());
        assertEquals(16, lineage.getValidationRecordCount());
        assertEquals(7, lineage.getSeed());
        assertEquals(64, lineage.getBaseModelHash().length());
        assertTrue(lineage.getCodeVersion().startsWith("loupe "));
        assertTrue(lineage.getHardwareMap().containsKey("cpus"));
        assertEquals(LEAD, version.getTrainedBy().getUsername());
        assertFalse(version.hasReviewedBy());

        // At rest the weights are sealed: no file of the version holds the adapter's bytes in the clear.
        Path sealed = Path.of("target/model-versions", "acme", id);
        try (var files = Files.list(sealed)) {
            for (Path file : files.toList()) {
                byte[] bytes = Files.readAllBytes(file);
                assertEquals("LOUPEMV1", new String(bytes, 0, 8, java.nio.charset.StandardCharsets.US_ASCII));
            }
        }

        // Until a compliance officer approves it, the version's weights do not leave Loupe.
        assertFailsWith(Status.Code.FAILED_PRECONDITION, () -> as(ENGINEER)
                .exportModelVersion(ExportModelVersionRequest.newBuilder().setModelVersionId(id).build())
                .hasNext());
        TrainingServiceBlockingStub serving = TrainingServiceGrpc.newBlockingStub(channel)
                .withCallCredentials(new BearerCallCredentials(
                        KeycloakTokens.serviceToken("loupe-serving-service"), null));
        LoadModelVersionForServingRequest load = LoadModelVersionForServingRequest.newBuilder()
                .setModelVersionId(id)
                .setTenant("acme")
                .setDeploymentId("0190a4c4-0000-7000-8000-0000000000d1")
                .setOnBehalfOf(dev.loupe.contracts.common.v1.Actor.newBuilder().setUsername(ENGINEER))
                .build();
        assertFailsWith(Status.Code.FAILED_PRECONDITION, () -> serving.loadModelVersionForServing(load).hasNext());

        // Review: engineers may not approve; a compliance officer approves, then cannot approve again.
        ReviewModelVersionRequest review = ReviewModelVersionRequest.newBuilder()
                .setModelVersionId(id)
                .setComment("validation loss halved")
                .build();
        assertFailsWith(Status.Code.PERMISSION_DENIED, () -> as(ENGINEER).approveModelVersion(review));
        // Four eyes: the lead is a compliance officer but started the job.
        StatusRuntimeException ownJob = assertFailsWith(Status.Code.PERMISSION_DENIED,
                () -> as(LEAD).approveModelVersion(review));
        assertTrue(GrpcProblems.fromStatus(ownJob).detail().contains("another compliance officer"));
        assertFailsWith(Status.Code.NOT_FOUND, () -> as("globex-compliance").approveModelVersion(review));
        ModelVersion approved = as("acme-compliance").approveModelVersion(review);
        assertEquals(ModelVersionState.MODEL_VERSION_STATE_APPROVED, approved.getState());
        assertEquals("acme-compliance", approved.getReviewedBy().getUsername());
        assertEquals("validation loss halved", approved.getReviewComment());
        assertFailsWith(Status.Code.FAILED_PRECONDITION, () -> as("acme-compliance").approveModelVersion(review));
        assertInvalid("comment", () -> as("acme-compliance").quarantineModelVersion(review.toBuilder()
                .setComment("")
                .build()));

        // The export is the adapter as the worker wrote it: the files hash to the version's artifact hash.
        java.io.ByteArrayOutputStream zip = new java.io.ByteArrayOutputStream();
        as(ENGINEER).exportModelVersion(ExportModelVersionRequest.newBuilder().setModelVersionId(id).build())
                .forEachRemaining(chunk -> zip.writeBytes(chunk.getData().toByteArray()));
        java.util.TreeMap<String, String> hashes = new java.util.TreeMap<>();
        try (var entries = new java.util.zip.ZipInputStream(new java.io.ByteArrayInputStream(zip.toByteArray()))) {
            for (var entry = entries.getNextEntry(); entry != null; entry = entries.getNextEntry()) {
                hashes.put(entry.getName(), dev.loupe.support.hash.Sha256.hex(entries.readAllBytes()));
            }
        }
        assertEquals(java.util.Set.of("adapter_config.json", "adapter_model.safetensors", "drift_reference.json"),
                hashes.keySet());
        StringBuilder manifest = new StringBuilder();
        hashes.forEach((name, hash) -> manifest.append(name).append('\u0000').append(hash).append('\n'));
        assertEquals(version.getArtifactHash(), dev.loupe.support.hash.Sha256.hex(
                manifest.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        assertFailsWith(Status.Code.PERMISSION_DENIED, () -> as("acme-compliance")
                .exportModelVersion(ExportModelVersionRequest.newBuilder().setModelVersionId(id).build())
                .hasNext());
        assertFailsWith(Status.Code.NOT_FOUND, () -> as("globex-engineer")
                .exportModelVersion(ExportModelVersionRequest.newBuilder().setModelVersionId(id).build())
                .hasNext());

        // The serving-service loads the approved version: its header names the base model, then the same archive.
        List<ServingArtifact> loaded = new java.util.ArrayList<>();
        serving.loadModelVersionForServing(load).forEachRemaining(loaded::add);
        assertEquals(id, loaded.get(0).getHeader().getModelVersion().getId());
        assertEquals("loupe-tiny-base", loaded.get(0).getHeader().getBaseModel().getId());
        java.io.ByteArrayOutputStream servedZip = new java.io.ByteArrayOutputStream();
        loaded.stream().skip(1).forEach(part -> servedZip.writeBytes(part.getData().toByteArray()));
        assertEquals(zip.size(), servedZip.size());
        assertFailsWith(Status.Code.NOT_FOUND, () -> serving.loadModelVersionForServing(load.toBuilder()
                .setTenant("globex")
                .build()).hasNext());
        assertFailsWith(Status.Code.PERMISSION_DENIED, () -> as(ENGINEER).loadModelVersionForServing(load).hasNext());
        GetModelVersionStatesRequest states = GetModelVersionStatesRequest.newBuilder()
                .setTenant("acme")
                .addModelVersionIds(id)
                .addModelVersionIds("0190a4c4-0000-7000-8000-0000000000ff")
                .build();
        assertEquals(java.util.Map.of(id, ModelVersionState.MODEL_VERSION_STATE_APPROVED),
                serving.getModelVersionStates(states).getStatesMap());
        assertTrue(serving.getModelVersionStates(states.toBuilder().setTenant("globex").build())
                .getStatesMap()
                .isEmpty());

        // Lineage: the version is found from a record it trained on, in its tenant only, by Loupe's services.
        TrainingServiceBlockingStub governance = TrainingServiceGrpc.newBlockingStub(channel)
                .withCallCredentials(new BearerCallCredentials(
                        KeycloakTokens.serviceToken("loupe-governance-service"), null));
        FindModelsTrainedOnRequest.Builder search = FindModelsTrainedOnRequest.newBuilder()
                .setTenant("acme")
                .addRecordHashes(TestExampleService.recordHash(true, 47));
        assertTrue(governance.findModelsTrainedOn(search.build())
                .getModelVersionsList()
                .stream()
                .anyMatch(found -> found.getId().equals(id)));
        assertTrue(governance.findModelsTrainedOn(search.setTenant("globex").build()).getModelVersionsList().isEmpty());
        assertTrue(governance.findModelsTrainedOn(search.setTenant("acme")
                .clearRecordHashes()
                .addRecordHashes("f".repeat(64))
                .build()).getModelVersionsList().stream().noneMatch(found -> found.getId().equals(id)));
        assertFailsWith(Status.Code.PERMISSION_DENIED, () -> as("acme-compliance").findModelsTrainedOn(search.build()));

        List<AuditEvent> audited = TestClients.outboxEventsAbout(jdbcUrl, dbUser, dbPassword, id);
        assertEquals(List.of("model.version.registered", "model.version.approved", "model.version.approved",
                "model.version.exported", "model.version.loaded_for_serving"),
                audited.stream().map(AuditEvent::getAction).toList());
        assertEquals(List.of(Outcome.OUTCOME_SUCCESS, Outcome.OUTCOME_DENIED, Outcome.OUTCOME_SUCCESS,
                Outcome.OUTCOME_SUCCESS, Outcome.OUTCOME_SUCCESS),
                audited.stream().map(AuditEvent::getOutcome).toList());
        AuditEvent servingLoad = audited.get(4);
        assertEquals("loupe-serving-service", servingLoad.getActor().getActor().getService());
        assertEquals(ENGINEER, servingLoad.getActor().getOnBehalfOf().getUsername());
    }

    @Test
    void cancelStopsTheWorkerWithinSecondsAndPauseResumesFromTheCheckpoint() throws Exception {
        CreateJobRequest request = loraJob(LONG_VERSION)
                .setHyperparameters(Hyperparameters.newBuilder().setEpochs(20).setBatchSize(4))
                .build();
        FineTuningJob job = as(ENGINEER).createJob(request).getJob();
        awaitJob(job.getId(), Duration.ofMinutes(2), j -> j.getTrainedSteps() >= 2);

        FineTuningJob pausing = as(ENGINEER).pauseJob(JobActionRequest.newBuilder().setJobId(job.getId()).build());
        assertEquals(JobState.JOB_STATE_RUNNING, pausing.getState());
        FineTuningJob paused = awaitJob(job.getId(), Duration.ofMinutes(1),
                j -> j.getState() == JobState.JOB_STATE_PAUSED);
        long pausedAt = paused.getTrainedSteps();
        assertTrue(pausedAt >= 2);
        assertEquals(0, workers.count());

        as(ENGINEER).resumeJob(JobActionRequest.newBuilder().setJobId(job.getId()).build());
        awaitJob(job.getId(), Duration.ofMinutes(2), j -> j.getState() == JobState.JOB_STATE_RUNNING
                && j.getTrainedSteps() > pausedAt);
        assertTrue(messages(allEvents(job.getId())).contains("Training resumed from step " + pausedAt));
        long pid = workerPid(job.getId());

        long cancelledAt = System.nanoTime();
        as("acme-admin").cancelJob(JobActionRequest.newBuilder().setJobId(job.getId()).build());
        FineTuningJob cancelled = awaitJob(job.getId(), Duration.ofSeconds(10),
                j -> j.getState() == JobState.JOB_STATE_CANCELLED);
        double seconds = (System.nanoTime() - cancelledAt) / 1e9;
        assertTrue(seconds < 10, "cancelled after " + seconds + " s");
        assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "worker " + pid + " alive");
        assertEquals(0, workers.count());
        assertTrue(cancelled.hasFinishedAt());
        // A cancelled job is never resumed: its checkpoints (weights) are gone from its folder.
        Path checkpoints = Path.of("target/test-jobs", job.getId(), "checkpoints");
        await().atMost(5, TimeUnit.SECONDS).until(() -> !Files.exists(checkpoints));

        // An ended job cannot be cancelled again.
        StatusRuntimeException again = assertFailsWith(Status.Code.FAILED_PRECONDITION,
                () -> as(ENGINEER).cancelJob(JobActionRequest.newBuilder().setJobId(job.getId()).build()));
        assertEquals(ProblemType.CONFLICT, GrpcProblems.fromStatus(again).type());
    }

    @Test
    void aCrashedWorkerIsRelaunchedFromTheLastCheckpointAndEndsWithTheUninterruptedRunsAdapter() throws Exception {
        // 48 scenes, 10 epochs of batches of 8: 60 steps, a checkpoint at the end of every epoch (6 steps).
        CreateJobRequest request = loraJob(TRAIN_VERSION)
                .setHyperparameters(Hyperparameters.newBuilder().setEpochs(10).setBatchSize(8).setLearningRate(3e-3))
                .build();
        FineTuningJob uninterrupted = awaitJob(as(ENGINEER).createJob(request).getJob().getId(), Duration.ofMinutes(3),
                j -> j.getState() == JobState.JOB_STATE_SUCCEEDED);

        FineTuningJob job = as(ENGINEER).createJob(request).getJob();
        awaitJob(job.getId(), Duration.ofMinutes(2), j -> j.getTrainedSteps() > 14);
        ProcessHandle worker = ProcessHandle.of(workerPid(job.getId())).orElseThrow();
        worker.destroyForcibly();

        FineTuningJob resumed = awaitJob(job.getId(), Duration.ofMinutes(3),
                j -> j.getState() == JobState.JOB_STATE_SUCCEEDED);
        String history = messages(allEvents(job.getId()));
        assertEquals(2, resumed.getAttempt(), history);
        assertTrue(history.contains("The worker stopped unexpectedly (exit code 137); the job is queued to continue"
                + " from its last checkpoint"), history);
        // From the last checkpoint (one every 6 steps) before the kill, not from the start.
        assertTrue(java.util.regex.Pattern.compile("Training resumed from step [1-9]\\d* of 60").matcher(history)
                .find(), history);
        // The adapter's files are bitwise those of the run that was never interrupted (same seed, same examples).
        assertEquals(TestClients.exportedFileHashes(channel, uninterrupted.getResultModelVersionId()),
                TestClients.exportedFileHashes(channel, resumed.getResultModelVersionId()));
    }

    @Test
    void afterARestartAJobThatHadAWorkerIsQueuedAgainAndItsOrphanStopped() throws Exception {
        FineTuningJob job = as(ENGINEER).createJob(loraJob(LONG_VERSION)
                .setHyperparameters(Hyperparameters.newBuilder().setEpochs(20).setBatchSize(4))
                .build()).getJob();
        as(ENGINEER).pauseJob(JobActionRequest.newBuilder().setJobId(job.getId()).build());
        awaitJob(job.getId(), Duration.ofMinutes(1), j -> j.getState() == JobState.JOB_STATE_PAUSED);
        // What a previous run of the service leaves behind: the job running, its worker alive, unfollowed.
        Process orphan = new ProcessBuilder("bash", "-c", "sleep 300; true", "dev.loupe.engine.worker.TrainerWorker",
                "target/test-jobs/" + job.getId() + "/job-spec.json").start();
        List<ProcessHandle> orphanChildren = new ArrayList<>();
        try {
            // The shell's sleep: left behind when the shell is stopped, so the test stops it itself.
            await().atMost(5, TimeUnit.SECONDS).until(() -> orphan.descendants().findAny().isPresent());
            orphan.descendants().forEach(orphanChildren::add);
            try (var connection = java.sql.DriverManager.getConnection(jdbcUrl, dbUser, dbPassword);
                    var update = connection
                            .prepareStatement("UPDATE fine_tuning_job SET state = 'running', attempt = 1,"
                                    + " worker_pid = ? WHERE id = ?")) {
                update.setLong(1, orphan.pid());
                update.setString(2, job.getId());
                assertEquals(1, update.executeUpdate());
            }

            // The scheduler's next tick finds the job with a worker it does not follow.

            assertTrue(orphan.waitFor(5, TimeUnit.SECONDS), "the orphaned worker was not stopped");
            // The job is queued again right after its orphan stopped.
            String restarted = "The training-service restarted (or lost track of the job's worker); the job is"
                    + " queued to continue from its last checkpoint";
            await().atMost(10, TimeUnit.SECONDS).untilAsserted(() -> {
                String history = messages(allEvents(job.getId()));
                assertTrue(history.contains(restarted), history);
            });
            FineTuningJob again = awaitJob(job.getId(), Duration.ofMinutes(1),
                    j -> j.getState() == JobState.JOB_STATE_RUNNING);
            assertEquals(1, again.getAttempt(), "a restart does not count as an attempt");
        } finally {
            orphan.destroyForcibly();
            orphanChildren.forEach(ProcessHandle::destroyForcibly);
        }
        as(ENGINEER).cancelJob(JobActionRequest.newBuilder().setJobId(job.getId()).build());
        awaitJob(job.getId(), Duration.ofSeconds(10), j -> j.getState() == JobState.JOB_STATE_CANCELLED);
    }

    @Test
    void aTenantsWaitingJobsAreCapped() {
        List<String> created = new ArrayList<>();
        StatusRuntimeException refused = null;
        try {
            for (int i = 0; i < 30 && refused == null; i++) {
                try {
                    String id = as(ENGINEER).createJob(loraJob(LONG_VERSION).setPriority(-10).build()).getJob().getId();
                    created.add(id);
                    as(ENGINEER).pauseJob(JobActionRequest.newBuilder().setJobId(id).build());
                } catch (StatusRuntimeException e) {
                    refused = e;
                }
            }
            assertTrue(refused != null, "no job was refused after " + created.size());
            assertEquals(Status.Code.RESOURCE_EXHAUSTED, refused.getStatus().getCode());
            assertEquals(ProblemType.RATE_LIMITED, GrpcProblems.fromStatus(refused).type());
            // 20 waiting (queued or paused) at most; one more may have been running when it was created.
            assertTrue(created.size() >= 20 && created.size() <= 21, created.size() + " jobs created");
        } finally {
            for (String id : created) {
                try {
                    as(ENGINEER).cancelJob(JobActionRequest.newBuilder().setJobId(id).build());
                } catch (StatusRuntimeException e) {
                    // Already ended.
                }
            }
        }
    }

    @Test
    void requestsAreCheckedBeforeAnythingIsQueued() {
        assertInvalid("model", () -> as(ENGINEER).createJob(loraJob(TRAIN_VERSION).setModel("no-such-model").build()));
        assertInvalid("dataset_version", () -> as(ENGINEER).createJob(
                loraJob("0190a4c4-0000-7000-8000-0000000000ff").build()));
        assertInvalid("dataset_version", () -> as(ENGINEER).createJob(loraJob("not-an-id").build()));
        assertInvalid("validation_split", () -> as(ENGINEER).createJob(loraJob(NO_VALIDATION_VERSION).build()));
        assertInvalid("method.lora.rank", () -> as(ENGINEER).createJob(loraJob(TRAIN_VERSION)
                .setMethod(Method.newBuilder().setLora(LoraSettings.newBuilder().setRank(0)))
                .build()));
        assertInvalid("hyperparameters.learning_rate", () -> as(ENGINEER).createJob(loraJob(TRAIN_VERSION)
                .setHyperparameters(Hyperparameters.newBuilder().setLearningRate(2))
                .build()));
        assertInvalid("hyperparameters.precision", () -> as(ENGINEER).createJob(loraJob(TRAIN_VERSION)
                .setHyperparameters(Hyperparameters.newBuilder().setPrecision(Precision.PRECISION_BF16))
                .build()));
        assertInvalid("method.train_projector", () -> as(ENGINEER).createJob(loraJob(TRAIN_VERSION)
                .setMethod(Method.newBuilder().setTrainProjector(true))
                .build()));
        assertInvalid("priority", () -> as(ENGINEER).createJob(loraJob(TRAIN_VERSION).setPriority(11).build()));
        assertInvalid("suffix", () -> as(ENGINEER).createJob(loraJob(TRAIN_VERSION).setSuffix("No Spaces").build()));
        // The estimate for 1,024 sequences of the tiny base's longest is beyond the tests' 2 GiB worker.
        String detail = assertInvalid("hyperparameters.batch_size", () -> as(ENGINEER).createJob(
                loraJob(TRAIN_VERSION).setHyperparameters(Hyperparameters.newBuilder().setBatchSize(1024)).build()));
        assertTrue(detail.contains("GiB"), detail);
        // Another tenant's version is not there.
        assertInvalid("dataset_version", () -> as("globex-engineer").createJob(loraJob(TRAIN_VERSION).build()));
        // Roles: compliance officers read jobs but do not create them.
        assertFailsWith(Status.Code.PERMISSION_DENIED,
                () -> as("acme-compliance").createJob(loraJob(TRAIN_VERSION).build()));
    }

    @Test
    void anIdempotencyKeyReplaysTheJobAndOtherTenantsSeeNothing() {
        String key = TestClients.uniqueId("job-key");
        CreateJobRequest request = loraJob(TRAIN_VERSION).setIdempotencyKey(key).setPriority(-10).build();
        CreateJobResponse first = as(ENGINEER).createJob(request);
        CreateJobResponse again = as(ENGINEER).createJob(request);
        assertFalse(first.getReplayed());
        assertTrue(again.getReplayed());
        assertEquals(first.getJob().getId(), again.getJob().getId());
        StatusRuntimeException reused = assertFailsWith(Status.Code.FAILED_PRECONDITION,
                () -> as(ENGINEER).createJob(request.toBuilder().setSeed(8).build()));
        assertEquals(ProblemType.IDEMPOTENCY_KEY_REUSED, GrpcProblems.fromStatus(reused).type());

        String id = first.getJob().getId();
        assertFailsWith(Status.Code.NOT_FOUND, () -> as("globex-engineer").getJob(GetJobRequest.newBuilder()
                .setJobId(id).build()));
        assertFailsWith(Status.Code.NOT_FOUND, () -> as("globex-admin").cancelJob(JobActionRequest.newBuilder()
                .setJobId(id).build()));
        assertTrue(as("globex-engineer").listJobs(ListJobsRequest.getDefaultInstance())
                .getJobsList()
                .stream()
                .noneMatch(job -> job.getId().equals(id)));
        assertTrue(as("acme-compliance").listJobs(ListJobsRequest.newBuilder()
                .setPage(PageRequest.newBuilder().setLimit(100))
                .build()).getJobsList().stream().anyMatch(job -> job.getId().equals(id)));

        FineTuningJob cancelled = as(ENGINEER).cancelJob(JobActionRequest.newBuilder().setJobId(id).build());
        assertTrue(cancelled.getState() == JobState.JOB_STATE_CANCELLED
                || cancelled.getState() == JobState.JOB_STATE_RUNNING
                || cancelled.getState() == JobState.JOB_STATE_VALIDATING_FILES, cancelled.getState().toString());
    }

    private FineTuningJob awaitJob(String id, Duration timeout, Predicate<FineTuningJob> condition)
            throws InterruptedException {
        return TestClients.awaitJob(channel, id, timeout, condition);
    }

    private List<JobEvent> allEvents(String id) {
        return TestClients.allEvents(channel, id);
    }

    private long workerPid(String jobId) throws Exception {
        try (var connection = java.sql.DriverManager.getConnection(jdbcUrl, dbUser, dbPassword);
                var query = connection.prepareStatement("SELECT worker_pid FROM fine_tuning_job WHERE id = ?")) {
            query.setString(1, jobId);
            try (var rows = query.executeQuery()) {
                rows.next();
                return rows.getLong(1);
            }
        }
    }

    private static String messages(List<JobEvent> events) {
        return TestClients.messages(events);
    }

    private static String assertInvalid(String field, Runnable call) {
        StatusRuntimeException e = assertFailsWith(Status.Code.INVALID_ARGUMENT, call);
        ProblemException problem = GrpcProblems.fromStatus(e);
        assertEquals(ProblemType.INVALID_REQUEST, problem.type());
        assertEquals(field, problem.field().orElse(null), problem.detail());
        return problem.detail();
    }
}
