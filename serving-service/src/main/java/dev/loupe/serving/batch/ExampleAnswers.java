package dev.loupe.serving.batch;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

import jakarta.enterprise.context.ApplicationScoped;

import dev.loupe.contracts.dataset.v1.Example;
import dev.loupe.contracts.serving.v1.CompletionRequest;
import dev.loupe.engine.serve.ServedModel;
import dev.loupe.serving.config.ServingConfig;
import dev.loupe.serving.inference.CompletionResult;
import dev.loupe.serving.inference.LoadedDeployments;
import dev.loupe.serving.inference.ServedDeployment;
import dev.loupe.serving.model.BatchResult;
import dev.loupe.serving.service.CompletionService;
import dev.loupe.support.error.ProblemException;
import dev.loupe.support.error.ProblemType;

/**
 * Asks a deployment about dataset examples: each example's conversation up to its last assistant turn, through the
 * deployment's continuous batching beside live requests (a full deployment is waited for, never overrun). The one
 * way batches and scheduled evaluations ask.
 */
@ApplicationScoped
public class ExampleAnswers {
    private final LoadedDeployments loaded;
    private final CompletionService completions;
    private final ServingConfig config;

    public ExampleAnswers(LoadedDeployments loaded, CompletionService completions, ServingConfig config) {
        this.loaded = loaded;
        this.completions = completions;
        this.config = config;
    }

    /** How the examples are answered. */
    public record Settings(int maxTokens, double temperature, String jsonSchema) {
    }

    /**
     * One example's answer.
     *
     * @param text the answer; for finish reason {@code error}, why the example has none
     * @param finishReason {@code stop}, {@code length} or {@code error}
     */
    public record Answer(Example example, String text, String finishReason, int promptTokens, int imageTokens,
            int completionTokens) {
        public boolean failed() {
            return finishReason.equals(BatchResult.ERROR);
        }
    }

    /** The deployment cannot answer now (unloading, removed, overloaded for too long): nothing was answered. */
    public static final class Unavailable extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Unavailable(String message) {
            super(message);
        }
    }

    /**
     * Answers the examples together. An example the model cannot take (too many pictures, too long) gets an
     * {@code error} answer; the others are answered.
     *
     * @throws Unavailable when the deployment cannot answer now
     */
    public List<Answer> answer(ServedDeployment served, Settings settings, List<Example> examples) {
        List<CompletableFuture<CompletionResult>> pending = new ArrayList<>();
        for (Example example : examples) {
            pending.add(submit(served, settings, example));
        }
        List<Answer> answers = new ArrayList<>();
        for (int i = 0; i < examples.size(); i++) {
            answers.add(answer(examples.get(i), pending.get(i)));
        }
        return answers;
    }

    private CompletableFuture<CompletionResult> submit(ServedDeployment served, Settings settings, Example example) {
        ServedModel.Request encoded;
        try {
            CompletionRequest.Builder request = DatasetExamples.request(example)
                    .setDeploymentId(served.deployment().id())
                    .setMaxTokens(settings.maxTokens())
                    .setTemperature(settings.temperature())
                    // Sampled answers are reproducible: each example's seed is its position.
                    .setSeed(example.getPosition())
                    .setJsonSchema(settings.jsonSchema());
            encoded = completions.encode(served.host().model(), request.build());
        } catch (ProblemException e) {
            return CompletableFuture.failedFuture(e);
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(new ProblemException(ProblemType.INVALID_REQUEST,
                    "the example cannot be asked: " + e.getMessage()));
        }
        long deadline = System.nanoTime() + config.requests().timeout().toNanos();
        while (true) {
            try {
                return loaded.submit(served, encoded, List.of(), text -> {
                }, new AtomicBoolean());
            } catch (ProblemException e) {
                if (e.type() != ProblemType.RATE_LIMITED || System.nanoTime() - deadline > 0) {
                    throw new Unavailable(e.detail());
                }
                sleep(Duration.ofMillis(50));
            }
        }
    }

    private Answer answer(Example example, CompletableFuture<CompletionResult> pending) {
        try {
            CompletionResult done = pending.get(config.requests().timeout().toMillis(), TimeUnit.MILLISECONDS);
            return new Answer(example, done.text(), done.finishReason(), done.promptTokens(), done.imageTokens(),
                    done.completionTokens());
        } catch (ExecutionException e) {
            if (e.getCause() instanceof ProblemException problem && problem.type() == ProblemType.INVALID_REQUEST) {
                return new Answer(example, problem.detail(), BatchResult.ERROR, 0, 0, 0);
            }
            throw new Unavailable(e.getCause() instanceof ProblemException problem
                    ? problem.detail()
                    : "generation failed: " + e.getCause());
        } catch (TimeoutException e) {
            pending.cancel(true);
            throw new Unavailable("the deployment did not answer within " + config.requests().timeout());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Unavailable("the service is stopping");
        }
    }

    private static void sleep(Duration duration) {
        try {
            Thread.sleep(duration.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Unavailable("the service is stopping");
        }
    }
}
