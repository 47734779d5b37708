package dev.loupe.training;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;

import dev.loupe.contracts.common.v1.PageRequest;
import dev.loupe.contracts.governance.v1.AuditEvent;
import dev.loupe.contracts.training.v1.BaseModel;
import dev.loupe.contracts.training.v1.FineTuningJob;
import dev.loupe.contracts.training.v1.GetJobRequest;
import dev.loupe.contracts.training.v1.JobEvent;
import dev.loupe.contracts.training.v1.JobState;
import dev.loupe.contracts.training.v1.ListBaseModelsRequest;
import dev.loupe.contracts.training.v1.ListBaseModelsResponse;
import dev.loupe.contracts.training.v1.ListJobEventsRequest;
import dev.loupe.contracts.training.v1.ListJobEventsResponse;
import dev.loupe.contracts.training.v1.TrainingServiceGrpc;
import dev.loupe.contracts.training.v1.TrainingServiceGrpc.TrainingServiceBlockingStub;
import dev.loupe.support.grpc.BearerCallCredentials;
import dev.loupe.support.testing.KeycloakTokens;

/**
 * What the training-service's Quarkus tests share: a channel to the service under test, stubs that call it as a
 * realm user, and the audit outbox read back with the database login.
 */
final class TestClients {
    /** The realm's platform-admin, who has no tenant. */
    static final String PLATFORM_ADMIN = "platform-ops";

    private TestClients() {
    }

    /** A channel to the service under test (its test port). */
    static ManagedChannel channel() {
        return ManagedChannelBuilder.forAddress("localhost", 18082).usePlaintext().build();
    }

    /** The TrainingService as a realm user, with a real Keycloak token. */
    static TrainingServiceBlockingStub as(ManagedChannel channel, String user) {
        return TrainingServiceGrpc.newBlockingStub(channel)
                .withCallCredentials(new BearerCallCredentials(KeycloakTokens.accessToken(user), null))
                .withDeadlineAfter(60, TimeUnit.SECONDS);
    }

    /**
     * Polls a job (as acme-engineer) until the condition holds; fails with the job's history if it fails or the
     * time runs out first.
     */
    static FineTuningJob awaitJob(ManagedChannel channel, String id, Duration timeout,
            Predicate<FineTuningJob> condition) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        FineTuningJob job;
        do {
            job = as(channel, "acme-engineer").getJob(GetJobRequest.newBuilder().setJobId(id).build());
            if (condition.test(job)) {
                return job;
            }
            if (job.getState() == JobState.JOB_STATE_FAILED) {
                throw new AssertionError("job failed: " + job.getFailureReason() + "\n"
                        + messages(allEvents(channel, id)));
            }
            Thread.sleep(200);
        } while (System.nanoTime() < deadline);
        throw new AssertionError("job " + id + " is " + job.getState() + " at step " + job.getTrainedSteps()
                + " after " + timeout + "\n" + messages(allEvents(channel, id)));
    }

    /** A job's whole history, page by page. */
    static List<JobEvent> allEvents(ManagedChannel channel, String id) {
        List<JobEvent> all = new ArrayList<>();
        String after = "";
        do {
            ListJobEventsResponse page = as(channel, "acme-engineer").listJobEvents(ListJobEventsRequest.newBuilder()
                    .setJobId(id)
                    .setPage(PageRequest.newBuilder().setLimit(100).setAfter(after))
                    .build());
            all.addAll(page.getEventsList());
            after = page.getPage().getNextAfter();
        } while (!after.isEmpty());
        return all;
    }

    /** Events as lines for failure messages. */
    static String messages(List<JobEvent> events) {
        return String.join("\n", events.stream().map(e -> e.getSequence() + " " + e.getMessage()).toList());
    }

    /**
     * The files of a model version's weights as exported (approved first by acme-compliance, exported by
     * acme-engineer), each by its SHA-256: what two versions' comparisons name the differing file by.
     */
    static java.util.SortedMap<String, String> exportedFileHashes(ManagedChannel channel, String versionId)
            throws java.io.IOException {
        as(channel, "acme-compliance").approveModelVersion(
                dev.loupe.contracts.training.v1.ReviewModelVersionRequest.newBuilder()
                        .setModelVersionId(versionId)
                        .setComment("compared with another run")
                        .build());
        java.io.ByteArrayOutputStream zip = new java.io.ByteArrayOutputStream();
        as(channel, "acme-engineer")
                .exportModelVersion(dev.loupe.contracts.training.v1.ExportModelVersionRequest.newBuilder()
                        .setModelVersionId(versionId)
                        .build())
                .forEachRemaining(chunk -> zip.writeBytes(chunk.getData().toByteArray()));
        java.util.SortedMap<String, String> hashes = new java.util.TreeMap<>();
        try (var entries = new java.util.zip.ZipInputStream(new java.io.ByteArrayInputStream(zip.toByteArray()))) {
            for (var entry = entries.getNextEntry(); entry != null; entry = entries.getNextEntry()) {
                hashes.put(entry.getName(), dev.loupe.support.hash.Sha256.hex(entries.readAllBytes()));
            }
        }
        return hashes;
    }

    /** Every base model a user sees, page by page. */
    static List<BaseModel> allBaseModels(ManagedChannel channel, String user) {
        List<BaseModel> all = new ArrayList<>();
        String after = "";
        do {
            ListBaseModelsResponse page = as(channel, user).listBaseModels(ListBaseModelsRequest.newBuilder()
                    .setPage(PageRequest.newBuilder().setLimit(2).setAfter(after))
                    .build());
            all.addAll(page.getModelsList());
            after = page.getPage().getNextAfter();
        } while (!after.isEmpty());
        return all;
    }

    /** A base model id no earlier test run used. */
    static String uniqueId(String prefix) {
        return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    /** The outbox's events about one resource, oldest first. */
    static List<AuditEvent> outboxEventsAbout(String jdbcUrl, String user, String password, String resourceId)
            throws Exception {
        return dev.loupe.support.testing.OutboxEvents.about(jdbcUrl, user, password, resourceId);
    }
}
