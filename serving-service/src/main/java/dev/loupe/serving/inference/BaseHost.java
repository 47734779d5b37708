package dev.loupe.serving.inference;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.LinkedBlockingDeque;

import ai.djl.ndarray.NDManager;
import io.micrometer.core.instrument.DistributionSummary;
import org.jboss.logging.Logger;

import dev.loupe.engine.generate.Generation;
import dev.loupe.engine.serve.ServedModel;
import dev.loupe.support.error.ProblemException;
import dev.loupe.support.error.ProblemType;

/**
 * One base model in memory and the thread that generates for every deployment on it. The thread takes the oldest
 * waiting request and, with it, up to its deployment's batch size of that deployment's waiting requests (a batch
 * runs under one adapter), waiting a few milliseconds for more when the batch is not full; requests that arrive
 * while a batch runs form the next one.
 */
public final class BaseHost implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(BaseHost.class);

    private final String baseModelId;
    private final NDManager manager;
    private final ServedModel model;
    private final LinkedBlockingDeque<PendingCompletion> queue = new LinkedBlockingDeque<>();
    private final Thread thread;
    private final Duration maxWait;
    private final DistributionSummary batchSizes;
    private volatile boolean running = true;

    /**
     * @param maxWait how long a batch that is not full waits for more of its deployment's requests before it starts
     */
    BaseHost(String baseModelId, NDManager manager, ServedModel model, Duration maxWait,
            DistributionSummary batchSizes) {
        this.maxWait = maxWait;
        this.batchSizes = batchSizes;
        this.baseModelId = baseModelId;
        this.manager = manager;
        this.model = model;
        this.thread = new Thread(this::run, "loupe-generate-" + baseModelId);
        thread.setDaemon(true);
        thread.start();
    }

    public String baseModelId() {
        return baseModelId;
    }

    public ServedModel model() {
        return model;
    }

    /** Requests waiting for a batch. */
    public int queueDepth() {
        return queue.size();
    }

    void submit(PendingCompletion pending) {
        queue.add(pending);
    }

    /** Frees a deployment's adapter between batches. */
    void unload(ServedDeployment deployment) {
        synchronized (model) {
            deployment.close();
        }
    }

    private void run() {
        while (running) {
            PendingCompletion first;
            try {
                first = queue.take();
            } catch (InterruptedException e) {
                return;
            }
            List<PendingCompletion> batch = new ArrayList<>();
            batch.add(first);
            int max = first.deployment.deployment().maxBatchSize();
            // Requests sent together arrive a few milliseconds apart: wait that long for them to join the batch,
            // rather than run the first alone and keep the others waiting for the whole of its generation.
            long deadline = System.nanoTime() + maxWait.toNanos();
            while (true) {
                take(first.deployment, batch, max);
                if (batch.size() >= max || System.nanoTime() - deadline >= 0) {
                    break;
                }
                try {
                    Thread.sleep(1);
                } catch (InterruptedException e) {
                    return;
                }
            }
            List<PendingCompletion> live = new ArrayList<>();
            for (PendingCompletion pending : batch) {
                if (pending.cancelled.get()) {
                    pending.result.completeExceptionally(new CancellationException("the caller went away"));
                } else {
                    live.add(pending);
                }
            }
            if (!live.isEmpty()) {
                batchSizes.record(live.size());
                generate(first.deployment, live);
            }
        }
    }

    /** Moves the deployment's waiting requests into the batch, oldest first, up to its size. */
    private void take(ServedDeployment deployment, List<PendingCompletion> batch, int max) {
        for (Iterator<PendingCompletion> waiting = queue.iterator(); waiting.hasNext() && batch.size() < max;) {
            PendingCompletion next = waiting.next();
            if (next.deployment == deployment) {
                waiting.remove();
                batch.add(next);
            }
        }
    }

    private void generate(ServedDeployment deployment, List<PendingCompletion> batch) {
        try {
            List<Generation> generations;
            synchronized (model) {
                if (!deployment.open()) {
                    throw new ProblemException(ProblemType.NOT_FOUND,
                            "deployment " + deployment.deployment().name() + " was removed");
                }
                generations = model.complete(deployment.adapter(),
                        batch.stream().map(pending -> pending.request).toList(), (row, token) -> {
                            PendingCompletion pending = batch.get(row);
                            if (pending.cancelled.get()) {
                                return false;
                            }
                            if (pending.firstTokenNanos == 0) {
                                pending.firstTokenNanos = System.nanoTime();
                            }
                            boolean goOn = pending.text.add(token);
                            String delta = pending.text.release();
                            if (!delta.isEmpty()) {
                                pending.listener.onText(delta);
                            }
                            return goOn;
                        });
            }
            for (int i = 0; i < batch.size(); i++) {
                PendingCompletion pending = batch.get(i);
                Generation generation = generations.get(i);
                String rest = pending.text.releaseRest();
                if (!rest.isEmpty()) {
                    pending.listener.onText(rest);
                }
                boolean stop = pending.text.stopped() || generation.finish() == Generation.Finish.STOP;
                ServedModel.Prompt prompt = pending.request.prompt();
                int imageTokens = prompt.images().size() * model.imageTokensPerImage();
                long end = System.nanoTime();
                long firstToken = pending.firstTokenNanos == 0 ? end : pending.firstTokenNanos;
                CompletionResult result = new CompletionResult(pending.text.text(), stop ? "stop" : "length",
                        prompt.ids().length, imageTokens, generation.tokens().length,
                        Duration.ofNanos(firstToken - pending.arrivedNanos),
                        Duration.ofNanos(end - pending.arrivedNanos),
                        false);
                deployment.stats().generated(result);
                pending.result.complete(result);
            }
        } catch (RuntimeException e) {
            if (!(e instanceof ProblemException)) {
                LOG.errorf(e, "generation failed for deployment %s", deployment.deployment().id());
            }
            batch.forEach(pending -> pending.result.completeExceptionally(e));
        }
    }

    /** Stops the thread (waiting requests fail) and frees the base weights. */
    @Override
    public void close() {
        running = false;
        thread.interrupt();
        try {
            thread.join(60_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        PendingCompletion left;
        while ((left = queue.poll()) != null) {
            left.result.completeExceptionally(new ProblemException(ProblemType.SERVICE_UNAVAILABLE,
                    "the model was unloaded"));
        }
        synchronized (model) {
            model.close();
            manager.close();
        }
    }
}
