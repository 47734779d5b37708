package dev.loupe.training.worker;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.loupe.training.config.TrainingConfig;
import dev.loupe.training.model.Job;
import dev.loupe.training.modelstore.PrivateFolders;

/**
 * The job spec a trainer worker runs ({@code dev.loupe.engine.worker.TrainerWorker}'s JSON), the same for every
 * executor: examples on standard input, output in the job's folder, where a relaunch finds the checkpoints to
 * resume from.
 */
final class TrainerSpecs {
    /** The trainer worker's main class. */
    static final String WORKER_CLASS = "dev.loupe.engine.worker.TrainerWorker";
    private static final ObjectMapper JSON = new ObjectMapper();

    private TrainerSpecs() {
    }

    /** The spec of a job's worker; creates the job's output folder (owner-only) when missing. */
    static ObjectNode forJob(Job job, Path baseModel, TrainingConfig config) throws IOException {
        Path output = PrivateFolders.create(Path.of(job.outputPath()));
        ObjectNode spec = JSON.createObjectNode()
                .put("job_id", job.id())
                .put("base_model", baseModel.toString())
                .put("output", output.toString())
                .put("examples_on_stdin", true)
                .put("seed", job.seed());
        spec.set("method", JSON.valueToTree(job.method()));
        spec.set("hyperparameters", JSON.valueToTree(job.hyperparameters()));
        if (config.worker().checkpointEverySteps() > 0) {
            spec.put("checkpoint_every_steps", config.worker().checkpointEverySteps());
        }
        return spec;
    }

    /**
     * The trainer worker's command line: its own heap limit, DJL offline, optionally a thread count.
     *
     * @param java the {@code java} command; null for the one running this JVM
     * @param threads threads for libtorch and the JVM; 0 lets libtorch choose
     */
    static List<String> command(String java, String maxHeap, int threads, String classpath, Path specFile) {
        List<String> command = new ArrayList<>();
        command.add(java != null ? java : Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-Xmx" + maxHeap);
        command.add("-Dai.djl.offline=true");
        if (threads > 0) {
            command.add("-Dai.djl.pytorch.num_threads=" + threads);
            command.add("-Dai.djl.pytorch.num_interop_threads=1");
            command.add("-XX:ActiveProcessorCount=" + threads);
        }
        command.add("-cp");
        command.add(classpath);
        command.add(WORKER_CLASS);
        command.add(specFile.toString());
        return command;
    }
}
