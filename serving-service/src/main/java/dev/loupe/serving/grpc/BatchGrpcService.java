package dev.loupe.serving.grpc;

import io.quarkus.grpc.GrpcService;
import io.smallrye.common.annotation.Blocking;
import io.smallrye.mutiny.Uni;

import dev.loupe.contracts.common.v1.Actor;
import dev.loupe.contracts.common.v1.PageInfo;
import dev.loupe.contracts.serving.v1.Batch;
import dev.loupe.contracts.serving.v1.BatchResult;
import dev.loupe.contracts.serving.v1.BatchSplit;
import dev.loupe.contracts.serving.v1.BatchState;
import dev.loupe.contracts.serving.v1.CancelBatchRequest;
import dev.loupe.contracts.serving.v1.CreateBatchRequest;
import dev.loupe.contracts.serving.v1.GetBatchRequest;
import dev.loupe.contracts.serving.v1.ListBatchResultsRequest;
import dev.loupe.contracts.serving.v1.ListBatchResultsResponse;
import dev.loupe.contracts.serving.v1.ListBatchesRequest;
import dev.loupe.contracts.serving.v1.ListBatchesResponse;
import dev.loupe.contracts.serving.v1.MutinyBatchServiceGrpc;
import dev.loupe.contracts.serving.v1.Usage;
import dev.loupe.serving.service.BatchService;
import dev.loupe.support.grpc.ProtoTime;
import dev.loupe.support.security.Authorized;
import dev.loupe.support.security.Caller;
import dev.loupe.support.security.Capability;

/**
 * Batch inference (contract {@code loupe.serving.v1.BatchService}) for inference callers. Blocking: a create reads
 * the dataset version's first example before it answers.
 */
@GrpcService
public class BatchGrpcService extends MutinyBatchServiceGrpc.BatchServiceImplBase {
    private final BatchService batches;

    public BatchGrpcService(BatchService batches) {
        this.batches = batches;
    }

    @Override
    @Blocking
    @Authorized(Capability.INFERENCE)
    public Uni<Batch> createBatch(CreateBatchRequest request) {
        Caller caller = Caller.current();
        return Uni.createFrom().deferred(() -> batches.create(caller, request)).map(BatchGrpcService::batch);
    }

    @Override
    @Blocking
    @Authorized(Capability.INFERENCE)
    public Uni<Batch> getBatch(GetBatchRequest request) {
        Caller caller = Caller.current();
        return Uni.createFrom().deferred(() -> batches.get(caller, request.getBatchId())).map(BatchGrpcService::batch);
    }

    @Override
    @Blocking
    @Authorized(Capability.INFERENCE)
    public Uni<ListBatchesResponse> listBatches(ListBatchesRequest request) {
        Caller caller = Caller.current();
        return Uni.createFrom()
                .deferred(() -> batches.list(caller, request.getPage().getLimit(), request.getPage().getAfter()))
                .map(page -> ListBatchesResponse.newBuilder()
                        .addAllBatches(page.batches().stream().map(BatchGrpcService::batch).toList())
                        .setPage(PageInfo.newBuilder()
                                .setHasMore(!page.nextAfter().isEmpty())
                                .setNextAfter(page.nextAfter()))
                        .build());
    }

    @Override
    @Blocking
    @Authorized(Capability.INFERENCE)
    public Uni<Batch> cancelBatch(CancelBatchRequest request) {
        Caller caller = Caller.current();
        return Uni.createFrom()
                .deferred(() -> batches.cancel(caller, request.getBatchId()))
                .map(BatchGrpcService::batch);
    }

    @Override
    @Blocking
    @Authorized(Capability.INFERENCE)
    public Uni<ListBatchResultsResponse> listBatchResults(ListBatchResultsRequest request) {
        Caller caller = Caller.current();
        return Uni.createFrom()
                .deferred(() -> batches.results(caller, request.getBatchId(), request.getPage().getLimit(),
                        request.getPage().getAfter()))
                .map(page -> ListBatchResultsResponse.newBuilder()
                        .addAllResults(page.results().stream().map(BatchGrpcService::result).toList())
                        .setPage(PageInfo.newBuilder()
                                .setHasMore(!page.nextAfter().isEmpty())
                                .setNextAfter(page.nextAfter()))
                        .build());
    }

    static Batch batch(dev.loupe.serving.model.Batch batch) {
        Batch.Builder proto = Batch.newBuilder()
                .setId(batch.id())
                .setDeploymentId(batch.deploymentId())
                .setDeploymentName(batch.deploymentName())
                .setModelVersionId(batch.modelVersionId())
                .setDatasetVersionId(batch.datasetVersionId())
                .setSplit(batch.split().equals(dev.loupe.serving.model.Batch.TRAIN)
                        ? BatchSplit.BATCH_SPLIT_TRAIN
                        : BatchSplit.BATCH_SPLIT_VALIDATION)
                .setState(switch (batch.state()) {
                    case dev.loupe.serving.model.Batch.QUEUED -> BatchState.BATCH_STATE_QUEUED;
                    case dev.loupe.serving.model.Batch.RUNNING -> BatchState.BATCH_STATE_RUNNING;
                    case dev.loupe.serving.model.Batch.SUCCEEDED -> BatchState.BATCH_STATE_SUCCEEDED;
                    case dev.loupe.serving.model.Batch.CANCELLED -> BatchState.BATCH_STATE_CANCELLED;
                    default -> BatchState.BATCH_STATE_FAILED;
                })
                .setFailureReason(batch.failureReason())
                .setTotal(batch.total())
                .setCompleted(batch.completed())
                .setFailed(batch.failed())
                .setMaxTokens(batch.maxTokens())
                .setTemperature(batch.temperature())
                .setCreatedAt(ProtoTime.of(batch.createdAt()))
                .setCreatedBy(Actor.newBuilder()
                        .setUserId(batch.createdByUserId())
                        .setUsername(batch.createdByUsername()));
        if (batch.finishedAt() != null) {
            proto.setFinishedAt(ProtoTime.of(batch.finishedAt()));
        }
        return proto.build();
    }

    private static BatchResult result(dev.loupe.serving.model.BatchResult result) {
        boolean error = result.finishReason().equals(dev.loupe.serving.model.BatchResult.ERROR);
        return BatchResult.newBuilder()
                .setPosition(result.position())
                .setRecordId(result.recordId())
                .setRecordHash(result.recordHash())
                .setText(error ? "" : result.text())
                .setError(error ? result.text() : "")
                .setFinishReason(result.finishReason())
                .setUsage(Usage.newBuilder()
                        .setPromptTokens(result.promptTokens())
                        .setImageTokens(result.imageTokens())
                        .setCompletionTokens(result.completionTokens()))
                .build();
    }
}
