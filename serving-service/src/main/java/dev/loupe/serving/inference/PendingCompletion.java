package dev.loupe.serving.inference;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;

import dev.loupe.engine.serve.ServedModel;

/** A request waiting for its batch, or in it. */
final class PendingCompletion {
    final ServedDeployment deployment;
    final ServedModel.Request request;
    final CompletionText text;
    final CompletionListener listener;
    final CompletableFuture<CompletionResult> result = new CompletableFuture<>();
    /** Set when the caller goes away: the request leaves the queue, or its row ends at the next token. */
    final AtomicBoolean cancelled;
    final long arrivedNanos = System.nanoTime();
    /** When its first token came; written and read by the generation thread only. */
    long firstTokenNanos;

    PendingCompletion(ServedDeployment deployment, ServedModel.Request request, CompletionText text,
            CompletionListener listener, AtomicBoolean cancelled) {
        this.cancelled = cancelled;
        this.deployment = deployment;
        this.request = request;
        this.text = text;
        this.listener = listener;
    }
}
