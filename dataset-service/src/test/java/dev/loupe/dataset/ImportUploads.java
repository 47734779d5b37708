package dev.loupe.dataset;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Status;
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

    /** An upload whose start and records file are sent; its images follow one by one. */
    static final class OpenUpload {
        private final StreamObserver<ImportChunk> stream;
        private final CompletableFuture<Import> result;

        private OpenUpload(StreamObserver<ImportChunk> stream, CompletableFuture<Import> result) {
            this.stream = stream;
            this.result = result;
        }

        /** Sends an image file in pieces of 1000 bytes, the last marked. */
        void sendImage(String name, byte[] bytes) {
            for (int offset = 0; offset == 0 || offset < bytes.length; offset += 1000) {
                int end = Math.min(bytes.length, offset + 1000);
                stream.onNext(ImportChunk.newBuilder().setImageData(ImageFileChunk.newBuilder()
                        .setFileName(name)
                        .setData(ByteString.copyFrom(bytes, offset, end - offset))
                        .setLast(end == bytes.length)).build());
            }
        }

        /** Ends the upload and waits for the import's answer. */
        Import finish() throws Exception {
            stream.onCompleted();
            try {
                return result.get(60, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                throw (Exception) e.getCause();
            }
        }

        /** The client goes away mid-upload. */
        void cancel() {
            stream.onError(Status.CANCELLED.withDescription("client went away").asRuntimeException());
        }
    }

    /** Opens an upload the way the gateway does: the start, then the records file in pieces of 100 bytes. */
    static OpenUpload open(ManagedChannel channel, String user, String datasetId, ImportFormat format,
            ImportMode mode, String key, byte[] records) {
        CompletableFuture<Import> result = new CompletableFuture<>();
        StreamObserver<ImportChunk> stream = DatasetServiceGrpc.newStub(channel)
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
        stream.onNext(ImportChunk.newBuilder().setStart(ImportStart.newBuilder()
                .setDatasetId(datasetId)
                .setFormat(format)
                .setMode(mode)
                .setIdempotencyKey(key)
                .setFileName("records.jsonl")).build());
        for (int offset = 0; offset < records.length; offset += 100) {
            stream.onNext(ImportChunk.newBuilder()
                    .setRecordsData(ByteString.copyFrom(records, offset, Math.min(100, records.length - offset)))
                    .build());
        }
        return new OpenUpload(stream, result);
    }

    static OpenUpload open(ManagedChannel channel, String user, String datasetId, ImportFormat format,
            ImportMode mode, String records) {
        return open(channel, user, datasetId, format, mode, "", records.getBytes(StandardCharsets.UTF_8));
    }

    /** A whole upload: the start, the records file, every image file in pieces; the import's answer. */
    static Import upload(ManagedChannel channel, String user, String datasetId, ImportFormat format, ImportMode mode,
            String key, Map<String, byte[]> images, String records) throws Exception {
        return upload(channel, user, datasetId, format, mode, key, images, records.getBytes(StandardCharsets.UTF_8));
    }

    /** The same, with the records file as bytes (which need not be valid UTF-8). */
    static Import upload(ManagedChannel channel, String user, String datasetId, ImportFormat format, ImportMode mode,
            String key, Map<String, byte[]> images, byte[] records) throws Exception {
        OpenUpload upload = open(channel, user, datasetId, format, mode, key, records);
        images.forEach(upload::sendImage);
        return upload.finish();
    }
}
