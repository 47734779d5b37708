package dev.loupe.serving.grpc;

import io.quarkus.grpc.GrpcService;
import io.smallrye.mutiny.Uni;

import dev.loupe.contracts.common.v1.PageInfo;
import dev.loupe.contracts.serving.v1.CreateDeploymentRequest;
import dev.loupe.contracts.serving.v1.DeleteDeploymentRequest;
import dev.loupe.contracts.serving.v1.DeleteDeploymentResponse;
import dev.loupe.contracts.serving.v1.Deployment;
import dev.loupe.contracts.serving.v1.GetDeploymentRequest;
import dev.loupe.contracts.serving.v1.ListDeploymentsRequest;
import dev.loupe.contracts.serving.v1.ListDeploymentsResponse;
import dev.loupe.contracts.serving.v1.MutinyServingServiceGrpc;
import dev.loupe.serving.service.DeploymentService;
import dev.loupe.support.security.Authorized;
import dev.loupe.support.security.Caller;
import dev.loupe.support.security.Capability;

/**
 * The serving-service's deployments API (contract {@code loupe.serving.v1.ServingService}): created, read and
 * deleted with {@link Capability#DEPLOYMENTS_MANAGE}. Monitoring is not built yet: GetMonitoring has no capability,
 * so the role matrix denies it.
 */
@GrpcService
public class ServingGrpcService extends MutinyServingServiceGrpc.ServingServiceImplBase {
    private final DeploymentService deployments;

    public ServingGrpcService(DeploymentService deployments) {
        this.deployments = deployments;
    }

    @Override
    @Authorized(Capability.DEPLOYMENTS_MANAGE)
    public Uni<Deployment> createDeployment(CreateDeploymentRequest request) {
        Caller caller = Caller.current();
        return Uni.createFrom()
                .deferred(() -> deployments.create(caller, request))
                .map(DeploymentProtos::deployment);
    }

    @Override
    @Authorized(Capability.DEPLOYMENTS_MANAGE)
    public Uni<Deployment> getDeployment(GetDeploymentRequest request) {
        Caller caller = Caller.current();
        return Uni.createFrom()
                .deferred(() -> deployments.get(caller, request.getDeploymentId()))
                .map(DeploymentProtos::deployment);
    }

    @Override
    @Authorized(Capability.DEPLOYMENTS_MANAGE)
    public Uni<ListDeploymentsResponse> listDeployments(ListDeploymentsRequest request) {
        Caller caller = Caller.current();
        return Uni.createFrom()
                .deferred(() -> deployments.list(caller, request.getPage().getLimit(), request.getPage().getAfter()))
                .map(page -> ListDeploymentsResponse.newBuilder()
                        .addAllDeployments(page.deployments().stream().map(DeploymentProtos::deployment).toList())
                        .setPage(PageInfo.newBuilder()
                                .setHasMore(!page.nextAfter().isEmpty())
                                .setNextAfter(page.nextAfter()))
                        .build());
    }

    @Override
    @Authorized(Capability.DEPLOYMENTS_MANAGE)
    public Uni<DeleteDeploymentResponse> deleteDeployment(DeleteDeploymentRequest request) {
        Caller caller = Caller.current();
        return Uni.createFrom()
                .deferred(() -> deployments.delete(caller, request.getDeploymentId()))
                .replaceWith(DeleteDeploymentResponse.getDefaultInstance());
    }
}
