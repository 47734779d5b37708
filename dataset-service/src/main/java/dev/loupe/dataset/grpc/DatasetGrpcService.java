package dev.loupe.dataset.grpc;

import io.quarkus.grpc.GrpcService;
import io.smallrye.mutiny.Uni;

import dev.loupe.contracts.common.v1.Actor;
import dev.loupe.contracts.common.v1.PageInfo;
import dev.loupe.contracts.dataset.v1.CreateDatasetRequest;
import dev.loupe.contracts.dataset.v1.CreateDatasetResponse;
import dev.loupe.contracts.dataset.v1.DeleteDatasetRequest;
import dev.loupe.contracts.dataset.v1.DeleteDatasetResponse;
import dev.loupe.contracts.dataset.v1.GetDatasetRequest;
import dev.loupe.contracts.dataset.v1.ListDatasetsRequest;
import dev.loupe.contracts.dataset.v1.ListDatasetsResponse;
import dev.loupe.contracts.dataset.v1.MutinyDatasetServiceGrpc;
import dev.loupe.dataset.model.Dataset;
import dev.loupe.dataset.service.DatasetService;
import dev.loupe.support.grpc.ProtoTime;
import dev.loupe.support.security.Authorized;
import dev.loupe.support.security.Caller;
import dev.loupe.support.security.Capability;

/**
 * The dataset-service's gRPC API. RPCs this class does not override answer {@code UNIMPLEMENTED}; their
 * capabilities are added with their implementations.
 */
@GrpcService
public class DatasetGrpcService extends MutinyDatasetServiceGrpc.DatasetServiceImplBase {
    private final DatasetService datasets;

    public DatasetGrpcService(DatasetService datasets) {
        this.datasets = datasets;
    }

    @Override
    @Authorized(Capability.DATASETS_MANAGE)
    public Uni<CreateDatasetResponse> createDataset(CreateDatasetRequest request) {
        Caller caller = Caller.current();
        return datasets.create(caller, request.getName(), request.getDescription(), request.getIdempotencyKey())
                .map(created -> CreateDatasetResponse.newBuilder()
                        .setDataset(toProto(created.dataset()))
                        .setReplayed(created.replayed())
                        .build());
    }

    @Override
    @Authorized(Capability.DATASETS_READ)
    public Uni<dev.loupe.contracts.dataset.v1.Dataset> getDataset(GetDatasetRequest request) {
        Caller caller = Caller.current();
        return datasets.get(caller, request.getDatasetId()).map(DatasetGrpcService::toProto);
    }

    @Override
    @Authorized(Capability.DATASETS_READ)
    public Uni<ListDatasetsResponse> listDatasets(ListDatasetsRequest request) {
        Caller caller = Caller.current();
        return datasets.list(caller, request.getPage().getLimit(), request.getPage().getAfter()).map(page -> {
            ListDatasetsResponse.Builder response = ListDatasetsResponse.newBuilder();
            page.datasets().forEach(dataset -> response.addDatasets(toProto(dataset)));
            PageInfo.Builder info = PageInfo.newBuilder().setHasMore(page.hasMore());
            if (page.hasMore()) {
                info.setNextAfter(page.datasets().get(page.datasets().size() - 1).id.toString());
            }
            return response.setPage(info).build();
        });
    }

    @Override
    @Authorized(Capability.DATASETS_MANAGE)
    public Uni<DeleteDatasetResponse> deleteDataset(DeleteDatasetRequest request) {
        Caller caller = Caller.current();
        return datasets.delete(caller, request.getDatasetId()).replaceWith(DeleteDatasetResponse.getDefaultInstance());
    }

    static dev.loupe.contracts.dataset.v1.Dataset toProto(Dataset dataset) {
        return dev.loupe.contracts.dataset.v1.Dataset.newBuilder()
                .setId(dataset.id.toString())
                .setName(dataset.name)
                .setDescription(dataset.description)
                .setRecordCount(dataset.recordCount)
                .setCreatedAt(ProtoTime.of(dataset.createdAt))
                .setUpdatedAt(ProtoTime.of(dataset.updatedAt))
                .setCreatedBy(
                        Actor.newBuilder().setUserId(dataset.createdByUserId).setUsername(dataset.createdByUsername))
                .build();
    }
}
