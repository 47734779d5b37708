package dev.loupe.training.worker;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.grpc.Context;

import dev.loupe.contracts.common.v1.Actor;
import dev.loupe.contracts.dataset.v1.ChatMessage;
import dev.loupe.contracts.dataset.v1.Example;
import dev.loupe.contracts.dataset.v1.ExampleImage;
import dev.loupe.contracts.dataset.v1.ExampleServiceGrpc.ExampleServiceBlockingStub;
import dev.loupe.contracts.dataset.v1.Split;
import dev.loupe.contracts.dataset.v1.StreamExamplesRequest;
import dev.loupe.support.grpc.BearerCallCredentials;
import dev.loupe.training.model.Job;

/**
 * Streams a job's examples from the dataset-service into its worker's standard input, in the engine's feed format
 * ({@code StreamedExamples}: one JSON object a line, images in base64, a closing line with the counts). The read
 * is made with the account of whoever feeds the worker (the training-service for its local workers, the trainer
 * workers' account in a Kubernetes pod) for the job's tenant, naming the job and the user who started it, and
 * the dataset-service audits it. Nothing decrypted is written to a disk: the examples pass through this process's
 * memory, one page at a time, into the worker's.
 */
public final class ExampleFeed {
    /** The whole stream's deadline: the worker reads its examples as fast as they come, before it trains. */
    private static final Duration STREAM_DEADLINE = Duration.ofHours(1);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final ExampleServiceBlockingStub examples;
    private final Supplier<String> tokens;

    /**
     * @param tokens a valid access token of the reading account each time it is called
     */
    public ExampleFeed(ExampleServiceBlockingStub examples, Supplier<String> tokens) {
        this.examples = examples;
        this.tokens = tokens;
    }

    /** Which examples a job's worker is fed, and for whom they are read. */
    public record Request(String jobId, String tenant, String datasetVersionId, String validationSplit,
            String userId, String username) {
        public static Request of(Job job) {
            return new Request(job.id(), job.tenant(), job.datasetVersionId(), job.validationSplit(),
                    job.createdByUserId(), job.createdByUsername());
        }
    }

    /** The hashes of the records a worker was fed, per split: the model version's lineage. */
    public record Fed(List<String> trainRecordHashes, List<String> validationRecordHashes) {
    }

    /** The worker closed its standard input (it refused an example, or died) while the feed was written. */
    public static final class WorkerInputClosedException extends IOException {
        private static final long serialVersionUID = 1L;

        WorkerInputClosedException(IOException cause) {
            super(cause.getMessage(), cause);
        }
    }

    /**
     * Writes the job's training split, then its validation split unless the job evaluates on none, then the end.
     *
     * @throws WorkerInputClosedException when writing to the worker fails; other failures are the stream's
     */
    public Fed write(Request job, OutputStream workerInput) throws IOException {
        Writer out = new Writer(new BufferedWriter(new OutputStreamWriter(workerInput, StandardCharsets.UTF_8),
                1 << 16));
        List<String> train = split(job, Split.SPLIT_TRAIN, "train", out);
        List<String> validation = job.validationSplit().equals("none")
                ? List.of()
                : split(job, Split.SPLIT_VALIDATION, "validation", out);
        out.line("{\"end\":true,\"train\":" + train.size() + ",\"validation\":" + validation.size() + "}");
        out.flush();
        return new Fed(train, validation);
    }

    /** Writes to the worker, telling a failure to write from the stream's own. */
    private record Writer(BufferedWriter out) {
        void line(String text) throws WorkerInputClosedException {
            try {
                out.write(text);
                out.write('\n');
            } catch (IOException e) {
                throw new WorkerInputClosedException(e);
            }
        }

        void flush() throws WorkerInputClosedException {
            try {
                out.flush();
            } catch (IOException e) {
                throw new WorkerInputClosedException(e);
            }
        }
    }

    private List<String> split(Request job, Split split, String name, Writer out) throws IOException {
        // A token per split: a long training split must not leave the validation split's call an expired one.
        String token = tokens.get();
        StreamExamplesRequest request = StreamExamplesRequest.newBuilder()
                .setVersionId(job.datasetVersionId())
                .setSplit(split)
                .setJobId(job.jobId())
                .setTenant(job.tenant())
                .setOnBehalfOf(Actor.newBuilder().setUserId(job.userId()).setUsername(job.username()))
                .build();
        // A worker that dies while it reads closes the pipe: cancel the call then, rather than leave it open.
        Context.CancellableContext call = Context.current().withCancellation();
        Context previous = call.attach();
        try {
            Iterator<Example> stream = examples.withCallCredentials(new BearerCallCredentials(token, ""))
                    .withDeadlineAfter(STREAM_DEADLINE.toMillis(), TimeUnit.MILLISECONDS)
                    .streamExamples(request);
            List<String> recordHashes = new ArrayList<>();
            while (stream.hasNext()) {
                Example example = stream.next();
                out.line(line(example, name));
                recordHashes.add(example.getRecordHash());
            }
            return recordHashes;
        } finally {
            call.detach(previous);
            call.cancel(null);
        }
    }

    static String line(Example example, String split) {
        ObjectNode line = JSON.createObjectNode().put("split", split).put("id", example.getRecordId());
        ArrayNode images = line.putArray("images");
        for (ExampleImage image : example.getImagesList()) {
            images.add(Base64.getEncoder().encodeToString(image.getData().toByteArray()));
        }
        ArrayNode messages = line.putArray("messages");
        for (ChatMessage message : example.getMessagesList()) {
            messages.addObject().put("role", message.getRole()).put("content", message.getContent());
        }
        return line.toString();
    }
}
