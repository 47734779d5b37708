package dev.loupe.training.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import io.quarkus.runtime.configuration.MemorySize;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

import dev.loupe.support.error.ProblemException;

/** The training-service's settings. */
@ConfigMapping(prefix = "loupe.training")
public interface TrainingConfig {

    /**
     * The platform's model store: the folder base model checkpoints are registered from. A registration's
     * {@code storage_uri} must name a folder inside it (also after following symbolic links); a relative
     * {@code storage_uri} is resolved against it. Created at start when missing.
     */
    @WithDefault(".local/models")
    Path modelsRoot();

    /** Loupe's own tiny base model, registered at start. */
    TinyBase tinyBase();

    /** List pagination. */
    Pagination pagination();

    /** Where jobs run and how many at once. */
    Jobs jobs();

    /** The fine-tuned model versions' weights, encrypted. */
    ModelVersions modelVersions();

    interface ModelVersions {
        /** The folder of their sealed files ({@code <root>/<tenant>/<version id>/}). Readable by this service only. */
        @WithDefault(".local/model-versions")
        Path root();
    }

    /** The trainer worker processes. */
    Worker worker();

    interface Jobs {
        /**
         * The folder each job's worker writes its checkpoints and result into ({@code <root>/<job id>}). Created at
         * start when missing; readable by this service's user only.
         */
        @WithDefault(".local/training-jobs")
        Path root();

        /** Workers that run at once on this node; further jobs wait in the queue. */
        @WithDefault("1")
        int slots();

        /** Jobs of one tenant that may run at once, so one tenant cannot take every slot. */
        @WithDefault("1")
        int maxRunningPerTenant();

        /** Jobs of one tenant that may wait in the queue (queued or paused); a further job is refused. */
        @WithDefault("20")
        int maxQueuedPerTenant();

        /** Launches of a job's worker, the first included, before a crashing job fails. */
        @WithDefault("3")
        int maxAttempts();

        /** How often the scheduler looks for queued jobs (it also looks right after a job is created or ends). */
        @WithDefault("2S")
        Duration scheduleInterval();
    }

    interface Worker {
        /**
         * Where workers run: {@code local}, child JVMs of this service on its node; or {@code kubernetes}, a
         * Kubernetes Job per launch ({@link #kubernetes()}).
         */
        @WithDefault("local")
        Executor executor();

        /** The Kubernetes executor's settings (used with {@code executor=kubernetes} only). */
        Kubernetes kubernetes();

        /**
         * The class path of the trainer worker ({@code dev.loupe.engine.worker.TrainerWorker} and DJL): the engine's
         * jar and {@code vlm-engine/target/worker-lib/*}, which the build fills. Empty: jobs fail with a message
         * saying so.
         */
        @WithDefault("vlm-engine/target/classes:vlm-engine/target/worker-lib/*")
        String classpath();

        /** The {@code java} command; empty for the one running this service. */
        Optional<String> java();

        /** The worker JVM's heap (-Xmx). Tensors live outside it, in libtorch's native memory. */
        @WithDefault("1g")
        String maxHeap();

        /**
         * The memory one worker may use in all (heap and native). A job whose estimate exceeds it is refused when
         * it is created, naming the hyperparameter to lower.
         */
        @WithDefault("8G")
        MemorySize memoryLimit();

        /** Threads libtorch and the JVM may use per worker; 0 lets libtorch choose. */
        @WithDefault("0")
        int threads();

        /**
         * How long a cancelled worker may take to stop after SIGTERM before it is killed. Cancelling does not
         * wait for a checkpoint, so this is short; a pause waits for the checkpoint (see pauseGrace).
         */
        @WithDefault("3S")
        Duration cancelGrace();

        /** How long a paused worker may take to finish its step and save a checkpoint before it is killed. */
        @WithDefault("5M")
        Duration pauseGrace();

        /** Save a checkpoint every this many optimizer steps; 0 for one per epoch. */
        @WithDefault("0")
        long checkpointEverySteps();
    }

    enum Executor {
        LOCAL, KUBERNETES
    }

    /**
     * The Kubernetes executor: each launch of a job's worker is a Kubernetes Job whose pod runs the worker agent
     * ({@code dev.loupe.training.worker.WorkerAgent}), which fetches its spec from this service, streams the
     * examples from the dataset-service with the trainer workers' own account, runs the trainer worker and reports
     * back over gRPC. The pod mounts the jobs folder ({@code loupe.training.jobs.root}) and the models folder at the
     * same paths as this service, from shared volumes, so checkpoints and results land where this service reads
     * them.
     */
    interface Kubernetes {
        /** The namespace the Jobs are created in; by default the client's (the service's own in a cluster). */
        Optional<String> namespace();

        /** The worker image: the training-service's files and the trainer worker's class path (see deploy/). */
        Optional<String> image();

        @WithDefault("IfNotPresent")
        String imagePullPolicy();

        /** The command the worker pod runs: the worker agent. */
        @WithDefault("java,-Xmx256m,-cp,/deployments/app/*:/deployments/lib/main/*,dev.loupe.training.worker.WorkerAgent")
        List<String> agentCommand();

        /** The pod's Kubernetes service account (none: the namespace's default). */
        Optional<String> serviceAccount();

        /** Nodes the worker may run on, e.g. {@code loupe.training.worker.kubernetes.node-selector."gpu"=a100}. */
        Map<String, String> nodeSelector();

        /**
         * Taints the worker tolerates, as kubectl writes them: {@code key=value:Effect} (operator Equal) or
         * {@code key:Effect} (operator Exists), e.g. {@code nvidia.com/gpu:NoSchedule}.
         */
        Optional<List<String>> tolerations();

        /** GPUs per worker (0: CPU only), requested as {@link #gpuResource()}. */
        @WithDefault("0")
        int gpus();

        @WithDefault("nvidia.com/gpu")
        String gpuResource();

        /** CPUs requested per worker (e.g. {@code 4}); none: no request. The memory is the worker's memory limit. */
        Optional<String> cpu();

        /** The persistent volume claim holding the jobs folder, shared with this service (ReadWriteMany). */
        Optional<String> jobsVolumeClaim();

        /** The persistent volume claim holding the base models, mounted read-only; none: in the image. */
        Optional<String> modelsVolumeClaim();

        /** Where the worker reaches this service's gRPC API ({@code host:port}). */
        Optional<String> trainingAddress();

        /** Where the worker reaches the dataset-service's gRPC API ({@code host:port}). */
        Optional<String> datasetAddress();

        /** Whether those two connections use TLS (the JVM's trust store); off only inside a trusted test. */
        @WithDefault("true")
        boolean grpcTls();

        /** Keycloak's token endpoint for the trainer workers' account. */
        Optional<String> tokenUrl();

        /**
         * The Kubernetes Secret holding the trainer workers' Keycloak client ({@code client-id} and
         * {@code client-secret}), created by the operator.
         */
        @WithDefault("loupe-trainer-worker")
        String credentialsSecret();

        /** How often the Jobs' states are read (a pod that died without reporting its end is found this way). */
        @WithDefault("5S")
        Duration pollInterval();

        /**
         * How long a launched worker may take to connect (image pull, scheduling on a GPU node) before the launch
         * counts as failed.
         */
        @WithDefault("10M")
        Duration startTimeout();

        /** How long a finished Job stays for inspection before Kubernetes deletes it. */
        @WithDefault("1H")
        Duration keepFinished();
    }

    interface TinyBase {
        /**
         * Its checkpoint folder (the repository's {@code models/loupe-tiny-base}; relative to the working
         * directory). Registered at start unless a base model with {@link #id()} exists; when the folder is
         * missing or not a complete checkpoint, start-up logs a warning and goes on without it. It need not lie
         * inside the models root: this setting is the operator's, not a caller's.
         */
        @WithDefault("models/loupe-tiny-base")
        Path path();

        /** The base model id it is registered under. */
        @WithDefault("loupe-tiny-base")
        String id();

        /** Its display name. */
        @WithDefault("Loupe tiny base")
        String displayName();
    }

    interface Pagination {
        /** Page size when a request gives none. */
        @WithDefault("20")
        int defaultLimit();

        /** Largest page size a request may ask for. */
        @WithDefault("100")
        int maxLimit();

        /**
         * The page size of a request's {@code limit} (0: none given).
         *
         * @throws ProblemException (invalid {@code limit}) outside 1 to {@link #maxLimit()}
         */
        default int pageSize(int limit) {
            int size = limit == 0 ? defaultLimit() : limit;
            if (size < 1 || size > maxLimit()) {
                throw ProblemException.invalid("limit", "limit must be between 1 and " + maxLimit());
            }
            return size;
        }
    }
}
