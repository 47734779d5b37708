package dev.loupe.training;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.quarkus.grpc.GrpcService;

import dev.loupe.contracts.dataset.v1.ChatMessage;
import dev.loupe.contracts.dataset.v1.Example;
import dev.loupe.contracts.dataset.v1.ExampleImage;
import dev.loupe.contracts.dataset.v1.ExampleServiceGrpc;
import dev.loupe.contracts.dataset.v1.Split;
import dev.loupe.contracts.dataset.v1.StreamExamplesRequest;
import dev.loupe.engine.tiny.Scene;
import dev.loupe.engine.tiny.SyntheticScenes;
import dev.loupe.support.security.Authorized;
import dev.loupe.support.security.Caller;
import dev.loupe.support.security.Capability;

/**
 * A stand-in for the dataset-service's example stream in the training-service's own tests: synthetic scenes of
 * the tiny base's world with a task it never saw (the colours as JSON), training scenes from one seed and
 * validation scenes from another. Only the training-service's own account may call it, as with the real one;
 * every request is kept for the tests to check.
 */
@GrpcService
public class TestExampleService extends ExampleServiceGrpc.ExampleServiceImplBase {
    static final String TENANT = "acme";
    static final String DATASET_ID = "0190a4c4-0000-7000-8000-000000000001";

    /** A version: how many training and validation scenes. */
    record Version(int train, int validation) {
    }

    /** The versions tests may name. */
    static final Map<String, Version> VERSIONS = new ConcurrentHashMap<>(Map.of(
            "0190a4c4-0000-7000-8000-00000000000a", new Version(48, 16),
            "0190a4c4-0000-7000-8000-00000000000b", new Version(8, 0),
            "0190a4c4-0000-7000-8000-00000000000c", new Version(400, 8)));
    static final List<StreamExamplesRequest> REQUESTS = new CopyOnWriteArrayList<>();
    static final List<String> CALLERS = new CopyOnWriteArrayList<>();

    /** The record hash of a scene of a split: distinct for every scene of both splits. */
    static String recordHash(boolean train, int index) {
        return String.format("%064x", (train ? 0 : 1_000_000) + index);
    }

    @Override
    @Authorized(Capability.TRAINING_DATA_READ)
    public void streamExamples(StreamExamplesRequest request, StreamObserver<Example> responses) {
        Caller caller = Caller.current();
        REQUESTS.add(request);
        CALLERS.add(caller.clientId());
        Version version = VERSIONS.get(request.getVersionId());
        if (version == null || !request.getTenant().equals(TENANT)) {
            responses.onError(Status.NOT_FOUND.withDescription("version does not exist").asRuntimeException());
            return;
        }
        boolean train = request.getSplit() == Split.SPLIT_TRAIN;
        SyntheticScenes scenes = new SyntheticScenes(train ? 2000 : 2001);
        int count = train ? version.train() : version.validation();
        try {
            for (int index = 0; index < count; index++) {
                Scene scene = scenes.scene(index);
                Scene.QuestionAnswer colours = scene.colours();
                responses.onNext(Example.newBuilder()
                        .setPosition(index)
                        .setRecordId((train ? "train-" : "validation-") + index)
                        .setRecordHash(recordHash(train, index))
                        .addMessages(ChatMessage.newBuilder()
                                .setRole("user")
                                .setContent("<image>\n" + colours.question()))
                        .addMessages(ChatMessage.newBuilder().setRole("assistant").setContent(colours.answer()))
                        .addImages(ExampleImage.newBuilder()
                                .setMediaType("image/png")
                                .setData(ByteString.copyFrom(SyntheticScenes.png(SyntheticScenes.render(scene)))))
                        .build());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        responses.onCompleted();
    }
}
