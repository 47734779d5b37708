package dev.loupe.serving.grpc;

import java.util.concurrent.atomic.AtomicBoolean;

import io.quarkus.grpc.GrpcService;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import io.smallrye.mutiny.subscription.Cancellable;

import dev.loupe.contracts.serving.v1.CompletionChunk;
import dev.loupe.contracts.serving.v1.CompletionRequest;
import dev.loupe.contracts.serving.v1.CompletionResponse;
import dev.loupe.contracts.serving.v1.MutinyInferenceServiceGrpc;
import dev.loupe.contracts.serving.v1.Usage;
import dev.loupe.serving.inference.CompletionListener;
import dev.loupe.serving.inference.CompletionResult;
import dev.loupe.serving.service.CompletionService;
import dev.loupe.support.id.Ids;
import dev.loupe.support.security.Authorized;
import dev.loupe.support.security.Caller;
import dev.loupe.support.security.Capability;

/**
 * Inference (contract {@code loupe.serving.v1.InferenceService}) with {@link Capability#INFERENCE}: one answer, or
 * the answer's text streamed as it becomes final. A client that goes away ends its request.
 */
@GrpcService
public class InferenceGrpcService extends MutinyInferenceServiceGrpc.InferenceServiceImplBase {
    private final CompletionService completions;

    public InferenceGrpcService(CompletionService completions) {
        this.completions = completions;
    }

    @Override
    @Authorized(Capability.INFERENCE)
    public Uni<CompletionResponse> complete(CompletionRequest request) {
        Caller caller = Caller.current();
        String id = "cmpl-" + Ids.newId();
        AtomicBoolean cancelled = new AtomicBoolean();
        return Uni.createFrom()
                .deferred(() -> completions.complete(caller, request, CompletionListener.NONE, cancelled))
                // Decoding pictures, tokenizing and hashing are work for a worker thread, not the event loop.
                .runSubscriptionOn(Infrastructure.getDefaultWorkerPool())
                .map(result -> CompletionResponse.newBuilder()
                        .setId(id)
                        .setText(result.text())
                        .setFinishReason(result.finishReason())
                        .setUsage(usage(result))
                        .setCached(result.cached())
                        .build())
                .onCancellation()
                .invoke(() -> cancelled.set(true));
    }

    @Override
    @Authorized(Capability.INFERENCE)
    public Multi<CompletionChunk> streamComplete(CompletionRequest request) {
        Caller caller = Caller.current();
        String id = "cmpl-" + Ids.newId();
        AtomicBoolean cancelled = new AtomicBoolean();
        return Multi.createFrom().emitter(emitter -> {
            CompletionListener listener = delta -> emitter.emit(CompletionChunk.newBuilder()
                    .setId(id)
                    .setTextDelta(delta)
                    .build());
            Cancellable answer = Uni.createFrom()
                    .deferred(() -> completions.complete(caller, request, listener, cancelled))
                    .runSubscriptionOn(Infrastructure.getDefaultWorkerPool())
                    .subscribe()
                    .with(result -> {
                        emitter.emit(CompletionChunk.newBuilder()
                                .setId(id)
                                .setFinishReason(result.finishReason())
                                .setUsage(usage(result))
                                .build());
                        emitter.complete();
                    }, emitter::fail);
            // A client that goes away ends its row at the next token and its wait for the answer.
            emitter.onTermination(() -> {
                cancelled.set(true);
                answer.cancel();
            });
        });
    }

    private static Usage usage(CompletionResult result) {
        return Usage.newBuilder()
                .setPromptTokens(result.promptTokens())
                .setImageTokens(result.imageTokens())
                .setCompletionTokens(result.completionTokens())
                .build();
    }
}
