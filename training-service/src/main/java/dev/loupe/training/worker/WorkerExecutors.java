package dev.loupe.training.worker;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Instance;
import jakarta.enterprise.inject.Produces;

import dev.loupe.training.config.TrainingConfig;

/** The executor {@code loupe.training.worker.executor} names; only that one is created. */
@ApplicationScoped
public class WorkerExecutors {

    @Produces
    @ApplicationScoped
    WorkerExecutor executor(TrainingConfig config, Instance<LocalWorkers> local,
            Instance<KubernetesWorkers> kubernetes) {
        return switch (config.worker().executor()) {
            case LOCAL -> local.get();
            case KUBERNETES -> kubernetes.get();
        };
    }
}
