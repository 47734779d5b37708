package dev.loupe.serving.batch;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.mutiny.Uni;
import org.jboss.logging.Logger;

import dev.loupe.contracts.dataset.v1.Example;
import dev.loupe.contracts.governance.v1.Outcome;
import dev.loupe.serving.config.ServingConfig;
import dev.loupe.serving.inference.LoadedDeployments;
import dev.loupe.serving.inference.ServedDeployment;
import dev.loupe.serving.model.Batch;
import dev.loupe.serving.model.Deployment;
import dev.loupe.serving.repository.BatchRepository;
import dev.loupe.serving.repository.DeploymentRepository;
import dev.loupe.serving.service.DeploymentService;
import dev.loupe.support.audit.AuditEvents;
import dev.loupe.support.kms.DataKeys;

/**
 * Runs batches, one at a time and oldest first, on a thread of its own. A batch's examples are read from the
 * dataset-service and answered a few at a time through its deployment's continuous batching (sharing it with live
 * requests); each group's answers are sealed and stored in one transaction with the batch's progress, so a batch
 * interrupted by a restart or an unreachable dataset-service continues after its last stored answer. A cancel is
 * seen at the next group.
 */
@ApplicationScoped
public class BatchRunner {
    private static final Logger LOG = Logger.getLogger(BatchRunner.class);
    static final String SUCCEEDED = "batch.succeeded";
    static final String FAILED = "batch.failed";

    private final BatchRepository batches;
    private final DeploymentRepository deployments;
    private final LoadedDeployments loaded;
    private final ExampleAnswers answers;
    private final DatasetExamples examples;
    private final DataKeys dataKeys;
    private final ServingConfig config;
    private final Object signal = new Object();
    private volatile boolean running = true;
    private Thread thread;

    public BatchRunner(BatchRepository batches, DeploymentRepository deployments, LoadedDeployments loaded,
            ExampleAnswers answers, DatasetExamples examples, DataKeys dataKeys, ServingConfig config) {
        this.batches = batches;
        this.deployments = deployments;
        this.loaded = loaded;
        this.answers = answers;
        this.examples = examples;
        this.dataKeys = dataKeys;
        this.config = config;
    }

    void start(@Observes StartupEvent started) {
        thread = new Thread(this::loop, "loupe-batches");
        thread.setDaemon(true);
        thread.start();
    }

    @PreDestroy
    void stop() throws InterruptedException {
        running = false;
        if (thread != null) {
            thread.interrupt();
            thread.join(30_000);
        }
    }

    /** A batch was created: look for work now rather than at the next poll. */
    public void wake() {
        synchronized (signal) {
            signal.notifyAll();
        }
    }

    private void loop() {
        while (running) {
            try {
                for (Batch batch : await(batches.unfinished())) {
                    if (!running) {
                        return;
                    }
                    run(batch);
                }
            } catch (RuntimeException e) {
                if (running) {
                    LOG.warnf(e, "the batch runner will try again");
                }
            }
            synchronized (signal) {
                try {
                    signal.wait(config.batches().pollInterval().toMillis());
                } catch (InterruptedException e) {
                    return;
                }
            }
        }
    }

    private void run(Batch batch) {
        Optional<ServedDeployment> served = loaded.find(batch.tenant(), batch.deploymentId());
        if (served.isEmpty()) {
            Optional<Deployment> recorded = await(deployments.get(deployments.pool(), batch.tenant(),
                    batch.deploymentId()));
            if (recorded.isEmpty()) {
                fail(batch, "deployment " + batch.deploymentName() + " was deleted");
            } else if (!recorded.get().state().equals(Deployment.READY)) {
                fail(batch, "deployment " + batch.deploymentName() + " is " + recorded.get().state() + ": "
                        + recorded.get().failureReason());
            }
            // Recorded ready but not loaded yet (the service is starting): the next round runs it.
            return;
        }
        if (batch.state().equals(Batch.QUEUED) && !await(changeState(batch, Batch.QUEUED, Batch.RUNNING, ""))) {
            return;
        }
        byte[] dataKey = dataKeys.unwrap(batch.keyName(), batch.wrappedKey());
        List<Example> group = new ArrayList<>();
        AtomicBoolean going = new AtomicBoolean(true);
        boolean readAll;
        try {
            readAll = examples.read(DatasetExamples.Reading.of(batch), batch.nextPosition(), example -> {
                group.add(example);
                if (group.size() == config.batches().rowsInFlight()) {
                    going.set(answerAndStore(batch, served.get(), dataKey, group));
                    group.clear();
                }
                return going.get() && running;
            });
            if (readAll && !group.isEmpty()) {
                going.set(answerAndStore(batch, served.get(), dataKey, group));
            }
        } catch (StatusRuntimeException e) {
            if (e.getStatus().getCode() == Status.Code.NOT_FOUND) {
                fail(batch, "dataset version " + batch.datasetVersionId() + " is gone");
            } else {
                // The dataset-service is unreachable or restarting: the batch continues from its last stored
                // answer at the next round.
                LOG.warnf("batch %s waits for the dataset-service: %s", batch.id(), e.getStatus());
            }
            return;
        } catch (ExampleAnswers.Unavailable e) {
            LOG.warnf("batch %s paused: %s", batch.id(), e.getMessage());
            return;
        }
        if (readAll && going.get()) {
            succeed(batch);
        }
    }

    /**
     * Answers a group of examples and stores the answers with the batch's progress.
     *
     * @return false when the batch is no longer running (cancelled)
     * @throws ExampleAnswers.Unavailable when the deployment cannot answer now (unloading, removed): nothing of the
     *         group is stored, and the next round decides
     */
    private boolean answerAndStore(Batch batch, ServedDeployment served, byte[] dataKey, List<Example> group) {
        List<BatchRepository.SealedResult> results = new ArrayList<>();
        for (ExampleAnswers.Answer answer : answers.answer(served, new ExampleAnswers.Settings(batch.maxTokens(),
                batch.temperature(), batch.jsonSchema()), group)) {
            long position = answer.example().getPosition();
            results.add(new BatchRepository.SealedResult(position, answer.example().getRecordId(),
                    answer.example().getRecordHash(),
                    BatchCipher.seal(dataKey, batch, position, answer.text().getBytes(StandardCharsets.UTF_8)),
                    answer.finishReason(), answer.promptTokens(), answer.imageTokens(), answer.completionTokens()));
        }
        long next = group.get(group.size() - 1).getPosition() + 1;
        return await(batches.pool().withTransaction(tx -> batches.lock(tx, batch.id()).chain(locked -> {
            if (locked.isEmpty() || !locked.get().state().equals(Batch.RUNNING)) {
                return Uni.createFrom().item(false);
            }
            return batches.addResults(tx, batch.id(), results, next).replaceWith(true);
        })));
    }

    private Uni<Boolean> changeState(Batch batch, String from, String to, String reason) {
        return batches.pool().withTransaction(tx -> batches.lock(tx, batch.id()).chain(locked -> {
            if (locked.isEmpty() || !locked.get().state().equals(from)) {
                return Uni.createFrom().item(false);
            }
            return batches.updateState(tx, batch.id(), to, reason, null).replaceWith(true);
        }));
    }

    private void succeed(Batch batch) {
        end(batch, Batch.SUCCEEDED, "");
    }

    private void fail(Batch batch, String reason) {
        LOG.warnf("batch %s failed: %s", batch.id(), reason);
        end(batch, Batch.FAILED, reason);
    }

    /** Ends a batch that has not ended, with its audit event; the total is what it answered. */
    private void end(Batch batch, String state, String reason) {
        await(batches.pool().withTransaction(tx -> batches.lock(tx, batch.id()).chain(locked -> {
            if (locked.isEmpty() || locked.get().ended()) {
                return Uni.createFrom().voidItem();
            }
            Batch now = locked.get();
            Map<String, Object> details = new LinkedHashMap<>();
            details.put("deployment_id", now.deploymentId());
            details.put("dataset_version_id", now.datasetVersionId());
            details.put("split", now.split());
            details.put("completed", now.completed());
            details.put("failed", now.failed());
            if (!reason.isEmpty()) {
                details.put("reason", reason);
            }
            Uni<Void> total = state.equals(Batch.SUCCEEDED)
                    ? batches.setTotal(tx, now.id(), now.completed() + now.failed())
                    : Uni.createFrom().voidItem();
            return total.chain(() -> batches.updateState(tx, now.id(), state, reason, Instant.now()))
                    .chain(() -> deployments.audit(tx,
                            AuditEvents.bySystem(DeploymentService.AUDIT_SOURCE, now.tenant(),
                                    state.equals(Batch.SUCCEEDED) ? SUCCEEDED : FAILED, "batch", now.id(),
                                    state.equals(Batch.SUCCEEDED) ? Outcome.OUTCOME_SUCCESS : Outcome.OUTCOME_FAILED,
                                    details)));
        })));
    }

    private static <T> T await(Uni<T> uni) {
        return uni.await().atMost(Duration.ofSeconds(60));
    }
}
