package dev.loupe.serving.batch;

import java.time.Duration;
import java.util.Base64;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import jakarta.enterprise.context.ApplicationScoped;

import io.grpc.Context;
import io.grpc.StatusRuntimeException;
import io.quarkus.grpc.GrpcClient;

import dev.loupe.contracts.common.v1.Actor;
import dev.loupe.contracts.dataset.v1.ChatMessage;
import dev.loupe.contracts.dataset.v1.Example;
import dev.loupe.contracts.dataset.v1.ExampleImage;
import dev.loupe.contracts.dataset.v1.ExampleServiceGrpc.ExampleServiceBlockingStub;
import dev.loupe.contracts.dataset.v1.Split;
import dev.loupe.contracts.serving.v1.CompletionRequest;
import dev.loupe.contracts.serving.v1.ContentPart;
import dev.loupe.contracts.serving.v1.Message;
import dev.loupe.engine.text.ChatTokenizer;
import dev.loupe.serving.model.Batch;
import dev.loupe.support.audit.ServiceAccountTokens;
import dev.loupe.support.error.ProblemException;
import dev.loupe.support.error.ProblemType;
import dev.loupe.support.grpc.BearerCallCredentials;

/**
 * Dataset examples for batches and scheduled evaluations, read from the dataset-service's example stream with this
 * service's account, naming the tenant, what the read serves and the user it is done for (the dataset-service
 * audits the read). Examples arrive as the reader takes them (gRPC flow control): a long split is never held in
 * memory.
 */
@ApplicationScoped
public class DatasetExamples {
    private static final Duration STREAM_DEADLINE = Duration.ofHours(6);

    private final ExampleServiceBlockingStub examples;
    private final ServiceAccountTokens tokens;

    public DatasetExamples(@GrpcClient("dataset") ExampleServiceBlockingStub examples, ServiceAccountTokens tokens) {
        this.examples = examples;
        this.tokens = tokens;
    }

    /**
     * Whose read it is: the tenant and dataset version, the split, what the read serves ({@code batch:<id>},
     * {@code evaluation:<deployment id>}) and the user it is done for, all named to the dataset-service, which
     * audits the read.
     */
    public record Reading(String tenant, String datasetVersionId, String split, String purpose, String userId,
            String username) {
        public static Reading of(Batch batch) {
            return new Reading(batch.tenant(), batch.datasetVersionId(), batch.split(), "batch:" + batch.id(),
                    batch.createdByUserId(), batch.createdByUsername());
        }
    }

    /**
     * Reads a split from a manifest position on, handing each example to {@code consumer} until it answers false
     * or the split ends.
     *
     * @return whether the split was read to its end
     * @throws StatusRuntimeException as the dataset-service answers (NOT_FOUND for a version not the tenant's)
     */
    public boolean read(Reading reading, long fromPosition, Predicate<Example> consumer) {
        String token = tokens.token().await().atMost(Duration.ofSeconds(30));
        Context.CancellableContext call = Context.current().withCancellation();
        Context previous = call.attach();
        try {
            Iterator<Example> stream = examples.withCallCredentials(new BearerCallCredentials(token, ""))
                    .withDeadlineAfter(STREAM_DEADLINE.toMillis(), TimeUnit.MILLISECONDS)
                    .streamExamples(dev.loupe.contracts.dataset.v1.StreamExamplesRequest.newBuilder()
                            .setVersionId(reading.datasetVersionId())
                            .setSplit(reading.split().equals(Batch.TRAIN)
                                    ? Split.SPLIT_TRAIN
                                    : Split.SPLIT_VALIDATION)
                            .setStartPosition(fromPosition)
                            .setJobId(reading.purpose())
                            .setTenant(reading.tenant())
                            .setOnBehalfOf(Actor.newBuilder()
                                    .setUserId(reading.userId())
                                    .setUsername(reading.username()))
                            .build());
            while (stream.hasNext()) {
                if (!consumer.test(stream.next())) {
                    return false;
                }
            }
            return true;
        } finally {
            // Leaving early (a cancel, a failure) ends the call rather than leave it open.
            call.detach(previous);
            call.cancel(null);
        }
    }

    /**
     * Reads the first example of a split: the version must be the tenant's, and the split must hold some.
     *
     * @param field the request's field naming the version, for the refusal
     * @throws ProblemException NOT_FOUND naming the field, or invalid naming {@code split} for an empty split
     */
    public void checkNotEmpty(Reading reading, String field) {
        boolean[] any = {false};
        try {
            read(reading, 0, example -> {
                any[0] = true;
                return false;
            });
        } catch (StatusRuntimeException e) {
            if (e.getStatus().getCode() == io.grpc.Status.Code.NOT_FOUND) {
                throw new ProblemException(ProblemType.NOT_FOUND, "there is no dataset version "
                        + reading.datasetVersionId(), field);
            }
            throw new ProblemException(ProblemType.SERVICE_UNAVAILABLE,
                    "the dataset-service did not give the examples: "
                            + e.getStatus().getCode() + " "
                            + java.util.Objects.toString(e.getStatus().getDescription(), ""));
        }
        if (!any[0]) {
            throw ProblemException.invalid("split", "the " + reading.split() + " split of dataset version "
                    + reading.datasetVersionId() + " holds no examples");
        }
    }

    /**
     * The chat request of an example: its conversation up to the last assistant turn (the answer the batch asks
     * for), its pictures as data URLs where its {@code <image>} placeholders are.
     */
    static CompletionRequest.Builder request(Example example) {
        List<ChatMessage> messages = example.getMessagesList();
        int end = messages.size();
        while (end > 0 && messages.get(end - 1).getRole().equals("assistant")) {
            end--;
        }
        CompletionRequest.Builder request = CompletionRequest.newBuilder();
        int image = 0;
        for (ChatMessage message : messages.subList(0, end)) {
            Message.Builder built = Message.newBuilder().setRole(message.getRole());
            String[] texts = message.getContent().split(java.util.regex.Pattern.quote(ChatTokenizer.IMAGE_PLACEHOLDER),
                    -1);
            for (int i = 0; i < texts.length; i++) {
                if (i > 0) {
                    built.addContent(ContentPart.newBuilder().setImageUrl(dataUrl(example.getImages(image++))));
                }
                if (!texts[i].isEmpty()) {
                    built.addContent(ContentPart.newBuilder().setText(texts[i]));
                }
            }
            request.addMessages(built);
        }
        return request;
    }

    private static String dataUrl(ExampleImage image) {
        return "data:" + image.getMediaType() + ";base64," + Base64.getEncoder().encodeToString(image.getData()
                .toByteArray());
    }
}
