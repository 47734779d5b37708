package dev.loupe.dataset;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.stub.StreamObserver;

import dev.loupe.contracts.dataset.v1.DatasetServiceGrpc;
import dev.loupe.contracts.dataset.v1.ImageFileChunk;
import dev.loupe.contracts.dataset.v1.Import;
import dev.loupe.contracts.dataset.v1.ImportChunk;
import dev.loupe.contracts.dataset.v1.ImportFormat;
import dev.loupe.contracts.dataset.v1.ImportMode;
import dev.loupe.contracts.dataset.v1.ImportStart;
import dev.loupe.support.grpc.BearerCallCredentials;
import dev.loupe.support.testing.KeycloakTokens;

/** Uploads for the tests, over the dataset-service's gRPC import stream. */
final class ImportUploads {
    private ImportUploads() {
    }

    /** Streams an upload the way the gateway does: the start, the records file, every image file in pieces. */
    static Import upload(ManagedChannel channel, String user, String datasetId, ImportFormat format, ImportMode mode,
            String key,
            Map<String, byte[]> images, String records) throws Exception {
        return upload(channel, user, datasetId, format, mode, key, images, records.getBytes(StandardCharsets.UTF_8));
    }

    /** The same, with the records file as bytes (which need not be valid UTF-8). */
    static Import upload(ManagedChannel channel, String user, String datasetId, ImportFormat format, ImportMode mode,
            String key, Map<String, byte[]> images, byte[] data) throws Exception {
        CompletableFuture<Import> result = new CompletableFuture<>();
        StreamObserver<ImportChunk> upload = DatasetServiceGrpc.newStub(channel)
                .withCallCredentials(new BearerCallCredentials(KeycloakTokens.accessToken(user), null))
                .withDeadlineAfter(60, TimeUnit.SECONDS)
                .importRecords(new StreamObserver<>() {
                    @Override
                    public void onNext(Import value) {
                        result.complete(value);
                    }

                    @Override
                    public void onError(Throwable t) {
                        result.completeExceptionally(t);
                    }

                    @Override
                    public void onCompleted() {
                    }
                });
        upload.onNext(ImportChunk.newBuilder().setStart(ImportStart.newBuilder()
                .setDatasetId(datasetId)
                .setFormat(format)
                .setMode(mode)
                .setIdempotencyKey(key)
                .setFileName("records.jsonl")).build());
        for (int offset = 0; offset < data.length; offset += 100) {
            upload.onNext(ImportChunk.newBuilder()
                    .setRecordsData(ByteString.copyFrom(data, offset, Math.min(100, data.length - offset)))
                    .build());
        }
        for (Map.Entry<String, byte[]> image : images.entrySet()) {
            byte[] bytes = image.getValue();
            for (int offset = 0; offset == 0 || offset < bytes.length; offset += 1000) {
                int end = Math.min(bytes.length, offset + 1000);
                upload.onNext(ImportChunk.newBuilder().setImageData(ImageFileChunk.newBuilder()
                        .setFileName(image.getKey())
                        .setData(ByteString.copyFrom(bytes, offset, end - offset))
                        .setLast(end == bytes.length)).build());
            }
        }
        upload.onCompleted();
        try {
            return result.get(60, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw (Exception) e.getCause();
        }
    }
}
