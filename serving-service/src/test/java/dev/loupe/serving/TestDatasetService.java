package dev.loupe.serving;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.quarkus.grpc.GrpcService;
import io.smallrye.mutiny.Multi;

import dev.loupe.contracts.dataset.v1.ChatMessage;
import dev.loupe.contracts.dataset.v1.Example;
import dev.loupe.contracts.dataset.v1.ExampleImage;
import dev.loupe.contracts.dataset.v1.MutinyExampleServiceGrpc;
import dev.loupe.contracts.dataset.v1.Split;
import dev.loupe.contracts.dataset.v1.StreamExamplesRequest;
import dev.loupe.engine.tiny.SyntheticScenes;
import dev.loupe.support.hash.Sha256;
import dev.loupe.support.security.Authorized;
import dev.loupe.support.security.Capability;

/**
 * A stand-in for the dataset-service's example stream in the serving-service's own tests (the system tests run
 * the real one): versions of tenant {@code acme} made of synthetic scenes, every third example in the validation
 * split. It checks what the real one checks: the caller's capability, the tenant, the split and the position.
 */
@GrpcService
public class TestDatasetService extends MutinyExampleServiceGrpc.ExampleServiceImplBase {
    static final String TENANT = "acme";
    /** 36 examples: 12 in the validation split, the last of them with more pictures than a request may hold. */
    static final String VERSION = "0190a4c4-0000-7000-8000-0000000000d1";
    /** 900 examples: 300 in the validation split, for cancels. */
    static final String LONG_VERSION = "0190a4c4-0000-7000-8000-0000000000d2";
    /** 2 examples, both in the training split: its validation split is empty. */
    static final String NO_VALIDATION = "0190a4c4-0000-7000-8000-0000000000d3";
    static final String QUESTION = "Describe the image.";
    private static final Map<String, Integer> SIZES = Map.of(VERSION, 36, LONG_VERSION, 900, NO_VALIDATION, 2);

    /** The reads served, for the tests to check whom they named. */
    static final List<StreamExamplesRequest> READS = new CopyOnWriteArrayList<>();

    @Override
    @Authorized(Capability.TRAINING_DATA_READ)
    public Multi<Example> streamExamples(StreamExamplesRequest request) {
        Integer size = SIZES.get(request.getVersionId());
        if (!request.getTenant().equals(TENANT) || size == null) {
            return Multi.createFrom().failure(Status.NOT_FOUND.withDescription("no such version").asException());
        }
        READS.add(request);
        List<Long> positions = new ArrayList<>();
        for (long position = request.getStartPosition(); position < size; position++) {
            if (inSplit(request.getVersionId(), position, request.getSplit())) {
                positions.add(position);
            }
        }
        return Multi.createFrom().iterable(positions).map(position -> example(request.getVersionId(), position));
    }

    private static boolean inSplit(String version, long position, Split split) {
        boolean validation = !version.equals(NO_VALIDATION) && position % 3 == 2;
        return split == Split.SPLIT_VALIDATION ? validation : !validation;
    }

    /** The example at a position: a scene and the question about it (the last of VERSION: nine scenes). */
    static Example example(String version, long position) {
        int pictures = version.equals(VERSION) && position == SIZES.get(VERSION) - 1 ? 9 : 1;
        Example.Builder example = Example.newBuilder()
                .setPosition(position)
                .setRecordId("record-" + position)
                .setRecordHash(Sha256.hex(("record-" + position).getBytes(java.nio.charset.StandardCharsets.UTF_8)))
                .addMessages(ChatMessage.newBuilder()
                        .setRole("user")
                        .setContent("<image>".repeat(pictures) + "\n" + QUESTION))
                .addMessages(ChatMessage.newBuilder().setRole("assistant").setContent("an answer to learn"));
        for (int i = 0; i < pictures; i++) {
            example.addImages(ExampleImage.newBuilder()
                    .setMediaType("image/png")
                    .setData(ByteString.copyFrom(png(position + i))));
        }
        return example.build();
    }

    static byte[] png(long scene) {
        try {
            return SyntheticScenes.png(SyntheticScenes.render(new SyntheticScenes(31).scene(scene)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
