package dev.loupe.serving.inference;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CancellationException;
import java.util.concurrent.LinkedBlockingDeque;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

import ai.djl.ndarray.NDManager;
import io.micrometer.core.instrument.DistributionSummary;
import org.jboss.logging.Logger;

import dev.loupe.engine.drift.DriftWindow;
import dev.loupe.engine.drift.ImageStatistics;
import dev.loupe.engine.generate.ContinuousBatch;
import dev.loupe.engine.generate.Generation;
import dev.loupe.engine.serve.ServedModel;
import dev.loupe.support.error.ProblemException;
import dev.loupe.support.error.ProblemType;

/**
 * One base model in memory and the thread that generates for every deployment on it, in continuous batches: a
 * batch runs under one deployment's adapter, its requests join before any step and leave as they finish (see
 * {@link #run}).
 */
public final class BaseHost implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(BaseHost.class);

    private final String baseModelId;
    private final NDManager manager;
    private final ServedModel model;
    private final LinkedBlockingDeque<PendingCompletion> queue = new LinkedBlockingDeque<>();
    private final Thread thread;
    private final Duration maxWait;
    private final Duration joinWait;
    private final DistributionSummary batchSizes;
    /** Measures answers for drift monitoring, apart from the generation thread; full, it drops answers. */
    private final ThreadPoolExecutor driftMeasures;
    private volatile boolean running = true;

    /**
     * @param maxWait how long a batch that is not full waits for more of its deployment's requests before it starts
     * @param joinWait how long a request may wait for the company of others before it joins a running batch
     * @param driftQueue answers waiting to be measured for drift monitoring at most
     */
    BaseHost(String baseModelId, NDManager manager, ServedModel model, Duration maxWait, Duration joinWait,
            int driftQueue, DistributionSummary batchSizes) {
        this.maxWait = maxWait;
        this.joinWait = joinWait;
        this.batchSizes = batchSizes;
        this.baseModelId = baseModelId;
        this.manager = manager;
        this.model = model;
        this.thread = new Thread(this::run, "loupe-generate-" + baseModelId);
        thread.setDaemon(true);
        this.driftMeasures = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS,
                new ArrayBlockingQueue<>(driftQueue), runnable -> {
                    Thread measures = new Thread(runnable, "loupe-drift-" + baseModelId);
                    measures.setDaemon(true);
                    return measures;
                }, new ThreadPoolExecutor.DiscardPolicy());
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

    /** Queues a request; refused once the host is closing, whose queue is then drained. */
    void submit(PendingCompletion pending) {
        synchronized (queue) {
            if (!running) {
                throw new ProblemException(ProblemType.SERVICE_UNAVAILABLE, "the model is being unloaded");
            }
            queue.add(pending);
        }
    }

    /** Frees a deployment's adapter between batches. */
    void unload(ServedDeployment deployment) {
        synchronized (model) {
            deployment.close();
        }
    }

    /**
     * The generation loop: with no batch running, the oldest waiting request starts one for its deployment (waiting
     * a few milliseconds for requests sent with it); while a batch runs, its deployment's waiting requests join it
     * before each step, up to the batch size, unless another deployment's requests are waiting, in which case the
     * batch runs down and that deployment's turn comes.
     */
    private void run() {
        Running batch = null;
        List<PendingCompletion> joining = new ArrayList<>();
        try {
            while (running) {
                try {
                    if (batch == null) {
                        PendingCompletion first = queue.take();
                        joining.add(first);
                        int max = first.deployment.deployment().maxBatchSize();
                        long deadline = System.nanoTime() + maxWait.toNanos();
                        while (true) {
                            take(first.deployment, joining, max);
                            if (joining.size() >= max || System.nanoTime() - deadline >= 0) {
                                break;
                            }
                            Thread.sleep(1);
                        }
                        batch = new Running(first.deployment);
                        batch.join(joining);
                        joining.clear();
                    } else if (!othersWaiting(batch.deployment) && joinNow(batch)) {
                        take(batch.deployment, joining, batch.deployment.deployment().maxBatchSize() - batch.size());
                        batch.join(joining);
                        joining.clear();
                    }
                    if (batch.size() > 0) {
                        batch.step();
                    }
                    if (batch.size() == 0) {
                        batch.close();
                        batch = null;
                    }
                } catch (RuntimeException | Error e) {
                    // Whatever went wrong fails the requests it touched; the thread goes on serving the others.
                    LOG.errorf(e, "the generation loop of %s failed", baseModelId);
                    joining.forEach(pending -> pending.result.completeExceptionally(e));
                    joining.clear();
                    if (batch != null) {
                        batch.fail(e);
                        batch.close();
                        batch = null;
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            ProblemException unloaded = new ProblemException(ProblemType.SERVICE_UNAVAILABLE,
                    "the model was unloaded");
            joining.forEach(pending -> pending.result.completeExceptionally(unloaded));
            if (batch != null) {
                batch.fail(unloaded);
                batch.close();
            }
        }
    }

    /** Moves the deployment's waiting requests into the list, oldest first, until it holds {@code max}. */
    private void take(ServedDeployment deployment, List<PendingCompletion> joining, int max) {
        for (Iterator<PendingCompletion> waiting = queue.iterator(); waiting.hasNext() && joining.size() < max;) {
            PendingCompletion next = waiting.next();
            if (next.deployment == deployment) {
                waiting.remove();
                joining.add(next);
            }
        }
    }

    /**
     * Whether the batch's waiting requests join before the next step. Reading joining prompts is a pass of its own,
     * which costs about as much as a step of the whole batch whatever the number of rows it reads: requests join
     * together, once enough of them wait to fill a quarter of the batch (or every free place), or once the oldest
     * has waited {@code joinWait}.
     */
    private boolean joinNow(Running batch) {
        int free = batch.deployment.deployment().maxBatchSize() - batch.size();
        if (free <= 0) {
            return false;
        }
        int waiting = 0;
        long oldest = Long.MAX_VALUE;
        for (PendingCompletion pending : queue) {
            if (pending.deployment == batch.deployment) {
                waiting++;
                oldest = Math.min(oldest, pending.arrivedNanos);
            }
        }
        if (waiting == 0) {
            return false;
        }
        int enough = Math.min(free, Math.max(1, batch.deployment.deployment().maxBatchSize() / 4));
        return waiting >= enough || System.nanoTime() - oldest >= joinWait.toNanos();
    }

    private boolean othersWaiting(ServedDeployment deployment) {
        return queue.stream().anyMatch(pending -> pending.deployment != deployment);
    }

    /** The batch of one deployment that is generating, and the requests in it. */
    private final class Running implements AutoCloseable {
        final ServedDeployment deployment;
        private final ServedModel.Batch rows;
        private final Set<PendingCompletion> members = new HashSet<>();

        Running(ServedDeployment deployment) {
            this.deployment = deployment;
            this.rows = model.newBatch(deployment.adapter());
        }

        int size() {
            return members.size();
        }

        /** Adds the requests (those whose callers went away are dropped); each gets its first token. */
        void join(List<PendingCompletion> joining) {
            List<PendingCompletion> live = new ArrayList<>();
            for (PendingCompletion pending : joining) {
                if (pending.cancelled.get()) {
                    pending.result.completeExceptionally(new CancellationException("the caller went away"));
                } else {
                    live.add(pending);
                }
            }
            if (live.isEmpty()) {
                return;
            }
            batchSizes.record(members.size() + live.size());
            members.addAll(live);
            guarded(() -> rows.add(live.stream().map(pending -> pending.request).toList(),
                    live.stream().map(this::listener).toList()), live);
        }

        void step() {
            guarded(rows::step, List.copyOf(members));
        }

        /** Runs a pass under the model's lock, unless the deployment was removed; a failure fails the requests. */
        private void guarded(Runnable pass, List<PendingCompletion> affected) {
            try {
                synchronized (model) {
                    if (!deployment.open()) {
                        throw new ProblemException(ProblemType.NOT_FOUND,
                                "deployment " + deployment.deployment().name() + " was removed");
                    }
                    pass.run();
                }
            } catch (RuntimeException e) {
                if (!(e instanceof ProblemException)) {
                    LOG.errorf(e, "generation failed for deployment %s", deployment.deployment().id());
                }
                // The batch's state is unknown after a failed pass: every request in it fails.
                fail(e);
                members.clear();
            }
        }

        void fail(Throwable failure) {
            members.forEach(pending -> pending.result.completeExceptionally(failure));
        }

        private ContinuousBatch.RowListener listener(PendingCompletion pending) {
            return new ContinuousBatch.RowListener() {
                @Override
                public boolean onToken(long token) {
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
                }

                @Override
                public void onFinish(Generation generation) {
                    members.remove(pending);
                    finish(pending, generation);
                }
            };
        }

        private void finish(PendingCompletion pending, Generation generation) {
            if (pending.cancelled.get()) {
                // Its caller went away mid-answer: the text is cut off, not an answer to keep or to count.
                pending.result.completeExceptionally(new CancellationException("the caller went away"));
                return;
            }
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
                    Duration.ofNanos(firstToken - pending.arrivedNanos), Duration.ofNanos(end - pending.arrivedNanos),
                    false);
            deployment.stats().generated(result);
            pending.result.complete(result);
            measureDrift(deployment, prompt, result);
        }

        @Override
        public void close() {
            rows.close();
        }
    }

    /**
     * Adds an answer and its pictures to the deployment's drift window, on the drift thread: the pictures'
     * statistics, their vision features (a pass of the model with the deployment's adapter, between generation
     * steps) and the answer's length and form. Under load the queue fills and answers go unmeasured.
     */
    private void measureDrift(ServedDeployment deployment, ServedModel.Prompt prompt, CompletionResult result) {
        Optional<DriftWindow> window = deployment.drift().window();
        if (window.isEmpty()) {
            return;
        }
        driftMeasures.execute(() -> {
            try {
                prompt.images().forEach(image -> window.get().addImage(ImageStatistics.of(image)));
                if (!prompt.images().isEmpty()) {
                    synchronized (model) {
                        if (!deployment.open()) {
                            return;
                        }
                        model.imageEmbeddings(deployment.adapter(), prompt.images())
                                .forEach(window.get()::addEmbedding);
                    }
                }
                // Counted as the training answers were: the answer's text, encoded.
                window.get().addAnswer(model.tokenCount(result.text()), result.text(),
                        result.finishReason().equals("stop"));
            } catch (RuntimeException e) {
                LOG.warnf(e, "an answer of deployment %s could not be measured for drift monitoring",
                        deployment.deployment().id());
            }
        });
    }

    /** Stops the thread (waiting requests fail) and frees the base weights. */
    @Override
    public void close() {
        synchronized (queue) {
            running = false;
        }
        thread.interrupt();
        driftMeasures.shutdownNow();
        try {
            thread.join(60_000);
            driftMeasures.awaitTermination(60, TimeUnit.SECONDS);
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
