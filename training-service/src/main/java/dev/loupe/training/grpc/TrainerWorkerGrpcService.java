package dev.loupe.training.grpc;

import jakarta.enterprise.inject.Instance;

import io.quarkus.grpc.GrpcService;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;

import dev.loupe.contracts.training.v1.GetJobSpecRequest;
import dev.loupe.contracts.training.v1.JobSpec;
import dev.loupe.contracts.training.v1.MutinyTrainerWorkerServiceGrpc;
import dev.loupe.contracts.training.v1.WorkerInstruction;
import dev.loupe.contracts.training.v1.WorkerReport;
import dev.loupe.support.error.ProblemException;
import dev.loupe.support.error.ProblemType;
import dev.loupe.support.security.Authorized;
import dev.loupe.support.security.Capability;
import dev.loupe.training.config.TrainingConfig;
import dev.loupe.training.worker.KubernetesWorkers;

/**
 * The trainer workers' side of the training-service (contract {@code loupe.training.v1.TrainerWorkerService}),
 * for the Kubernetes executor's pods: callers hold {@link Capability#TRAINING_REPORT} (the trainer workers' own
 * account) and name the launch with its worker key ({@link KubernetesWorkers}). With the local executor there are no
 * such workers and every call is refused.
 */
@GrpcService
public class TrainerWorkerGrpcService extends MutinyTrainerWorkerServiceGrpc.TrainerWorkerServiceImplBase {
    private final TrainingConfig config;
    private final Instance<KubernetesWorkers> workers;

    public TrainerWorkerGrpcService(TrainingConfig config, Instance<KubernetesWorkers> workers) {
        this.config = config;
        this.workers = workers;
    }

    private KubernetesWorkers workers() {
        if (config.worker().executor() != TrainingConfig.Executor.KUBERNETES) {
            throw new ProblemException(ProblemType.CONFLICT,
                    "this training-service runs its workers locally (loupe.training.worker.executor=local)");
        }
        return workers.get();
    }

    @Override
    @Authorized(Capability.TRAINING_REPORT)
    public Uni<JobSpec> getJobSpec(GetJobSpecRequest request) {
        return Uni.createFrom().item(() -> workers().spec(request));
    }

    @Override
    @Authorized(Capability.TRAINING_REPORT)
    public Multi<WorkerInstruction> report(Multi<WorkerReport> reports) {
        return Multi.createFrom().deferred(() -> workers().connect(reports));
    }
}
