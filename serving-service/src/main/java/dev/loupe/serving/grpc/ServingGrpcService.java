package dev.loupe.serving.grpc;

import java.util.Optional;

import io.quarkus.grpc.GrpcService;
import io.smallrye.mutiny.Uni;

import dev.loupe.contracts.common.v1.PageInfo;
import dev.loupe.contracts.serving.v1.CreateDeploymentRequest;
import dev.loupe.contracts.serving.v1.DeleteDeploymentRequest;
import dev.loupe.contracts.serving.v1.DeleteDeploymentResponse;
import dev.loupe.contracts.serving.v1.Deployment;
import dev.loupe.contracts.serving.v1.GetDeploymentRequest;
import dev.loupe.contracts.serving.v1.GetMonitoringRequest;
import dev.loupe.contracts.serving.v1.LatencySummary;
import dev.loupe.contracts.serving.v1.ListDeploymentsRequest;
import dev.loupe.contracts.serving.v1.ListDeploymentsResponse;
import dev.loupe.contracts.serving.v1.Monitoring;
import dev.loupe.contracts.serving.v1.MutinyServingServiceGrpc;
import dev.loupe.serving.evaluation.EvaluationService;
import dev.loupe.serving.inference.DeploymentStats;
import dev.loupe.serving.inference.LoadedDeployments;
import dev.loupe.serving.inference.ServedDeployment;
import dev.loupe.serving.service.DeploymentService;
import dev.loupe.serving.service.DriftService;
import dev.loupe.support.security.Authorized;
import dev.loupe.support.security.Caller;
import dev.loupe.support.security.Capability;

/**
 * The serving-service's deployments API (contract {@code loupe.serving.v1.ServingService}): created, read,
 * monitored and deleted with {@link Capability#DEPLOYMENTS_MANAGE}.
 */
@GrpcService
public class ServingGrpcService extends MutinyServingServiceGrpc.ServingServiceImplBase {
    private final DeploymentService deployments;
    private final LoadedDeployments loaded;
    private final DriftService drift;
    private final EvaluationService evaluations;

    public ServingGrpcService(DeploymentService deployments, LoadedDeployments loaded, DriftService drift,
            EvaluationService evaluations) {
        this.deployments = deployments;
        this.loaded = loaded;
        this.drift = drift;
        this.evaluations = evaluations;
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

    /**
     * Latency, throughput, queue and cache figures; drift: each feature against the training reference and the
     * latest drift events; the latest scheduled evaluations.
     */
    @Override
    @Authorized(Capability.DEPLOYMENTS_MANAGE)
    public Uni<Monitoring> getMonitoring(GetMonitoringRequest request) {
        Caller caller = Caller.current();
        return Uni.createFrom()
                .deferred(() -> deployments.get(caller, request.getDeploymentId()))
                .chain(deployment -> Uni.combine().all().unis(drift.latestEvents(deployment.tenant(),
                        deployment.id()), evaluations.latestRuns(deployment.tenant(), deployment.id())).asTuple()
                        .map(recorded -> {
                            Monitoring.Builder monitoring = Monitoring.newBuilder().setDeploymentId(deployment.id());
                            recorded.getItem1()
                                    .forEach(event -> monitoring.addDriftEvents(MonitoringProtos.event(event)));
                            recorded.getItem2()
                                    .forEach(run -> monitoring.addEvaluations(MonitoringProtos.evaluation(run)));
                            Optional<ServedDeployment> served = loaded.find(deployment.tenant(), deployment.id());
                            if (served.isEmpty()) {
                                monitoring.setDriftUnavailableReason("the deployment is not loaded: it is " + deployment
                                        .state());
                                return monitoring.build();
                            }
                            DeploymentStats.Summary summary = served.get().stats().summary();
                            monitoring.setTimeToFirstToken(latency(summary.timeToFirstToken()))
                                    .setPerToken(latency(summary.perToken()))
                                    .setTotal(latency(summary.total()))
                                    .setRequestsPerSecond(summary.requestsPerSecond())
                                    .setTokensPerSecond(summary.tokensPerSecond())
                                    .setQueueDepth(served.get().inFlight())
                                    .setCacheHitRate(summary.cacheHitRate())
                                    .setDrifting(served.get().drift().drifting())
                                    .setDriftUnavailableReason(served.get().drift().unavailableReason());
                            drift.assess(served.get()).ifPresent(assessment -> {
                                monitoring.setDriftMonitored(true);
                                assessment.features().forEach(feature -> monitoring.addDrift(MonitoringProtos.statistic(
                                        feature)));
                            });
                            return monitoring.build();
                        }));
    }

    private static LatencySummary latency(DeploymentStats.Latency latency) {
        return LatencySummary.newBuilder()
                .setP50Ms(latency.p50())
                .setP95Ms(latency.p95())
                .setP99Ms(latency.p99())
                .build();
    }
}
