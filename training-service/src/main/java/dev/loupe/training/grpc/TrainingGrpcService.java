package dev.loupe.training.grpc;

import java.util.TreeMap;

import io.quarkus.grpc.GrpcService;
import io.smallrye.mutiny.Uni;

import dev.loupe.contracts.common.v1.Actor;
import dev.loupe.contracts.common.v1.PageInfo;
import dev.loupe.contracts.training.v1.BaseModelFile;
import dev.loupe.contracts.training.v1.ListBaseModelsRequest;
import dev.loupe.contracts.training.v1.ListBaseModelsResponse;
import dev.loupe.contracts.training.v1.MutinyTrainingServiceGrpc;
import dev.loupe.contracts.training.v1.RegisterBaseModelRequest;
import dev.loupe.support.grpc.ProtoTime;
import dev.loupe.support.security.Authorized;
import dev.loupe.support.security.Caller;
import dev.loupe.support.security.Capability;
import dev.loupe.training.model.BaseModel;
import dev.loupe.training.service.BaseModelService;

/**
 * The training-service's gRPC API (contract {@code loupe.training.v1.TrainingService}). So far the base models:
 * platform operators register them ({@link Capability#PLATFORM_OPERATE}), and whoever may read a tenant's jobs
 * and models lists them ({@link Capability#JOBS_READ}). Every other RPC has no capability yet and is denied
 * ({@code PERMISSION_DENIED}) until it is implemented.
 */
@GrpcService
public class TrainingGrpcService extends MutinyTrainingServiceGrpc.TrainingServiceImplBase {
    private final BaseModelService baseModels;

    public TrainingGrpcService(BaseModelService baseModels) {
        this.baseModels = baseModels;
    }

    @Override
    @Authorized(Capability.PLATFORM_OPERATE)
    public Uni<dev.loupe.contracts.training.v1.BaseModel> registerBaseModel(RegisterBaseModelRequest request) {
        Caller caller = Caller.current();
        return baseModels.register(caller, request.getId(), request.getDisplayName(), request.getArchitecture(),
                request.getStorageUri()).map(TrainingGrpcService::toProto);
    }

    @Override
    @Authorized(Capability.JOBS_READ)
    public Uni<ListBaseModelsResponse> listBaseModels(ListBaseModelsRequest request) {
        return baseModels.list(request.getPage().getLimit(), request.getPage().getAfter()).map(page -> {
            ListBaseModelsResponse.Builder response = ListBaseModelsResponse.newBuilder();
            page.models().forEach(model -> response.addModels(toProto(model)));
            PageInfo.Builder info = PageInfo.newBuilder().setHasMore(page.hasMore());
            if (page.hasMore()) {
                info.setNextAfter(page.models().get(page.models().size() - 1).id);
            }
            return response.setPage(info).build();
        });
    }

    static dev.loupe.contracts.training.v1.BaseModel toProto(BaseModel model) {
        var built = dev.loupe.contracts.training.v1.BaseModel.newBuilder()
                .setId(model.id)
                .setDisplayName(model.displayName)
                .setArchitecture(model.architecture)
                .setParameterCount(model.parameterCount)
                .setStorageUri(model.storageUri)
                .setContentHash(model.contentHash)
                .setCreatedAt(ProtoTime.of(model.createdAt))
                .setCreatedBy(Actor.newBuilder()
                        .setUserId(model.createdByUserId)
                        .setUsername(model.createdByUsername)
                        .setService(model.createdByService));
        // jsonb keeps its own key order: answer in name order, as the content hash reads them.
        new TreeMap<>(model.fileManifest).forEach((name, file) -> built.addFiles(BaseModelFile.newBuilder()
                .setName(name)
                .setSha256(file.sha256())
                .setSizeBytes(file.size())));
        return built.build();
    }
}
