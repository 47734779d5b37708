package dev.loupe.dataset;

import java.awt.Color;
import java.awt.GradientPaint;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import javax.imageio.ImageIO;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;

import dev.loupe.contracts.dataset.v1.CreateDatasetRequest;
import dev.loupe.contracts.dataset.v1.DatasetServiceGrpc;
import dev.loupe.contracts.dataset.v1.ImageFileChunk;
import dev.loupe.contracts.dataset.v1.Import;
import dev.loupe.contracts.dataset.v1.ImportChunk;
import dev.loupe.contracts.dataset.v1.ImportFormat;
import dev.loupe.contracts.dataset.v1.ImportMode;
import dev.loupe.contracts.dataset.v1.ImportStart;
import dev.loupe.dataset.images.ImageInspector;
import dev.loupe.dataset.images.NormalisedImage;
import dev.loupe.support.grpc.BearerCallCredentials;
import dev.loupe.support.testing.KeycloakTokens;

/**
 * Import throughput of PNG images through the dataset-service's whole import path (gRPC stream, encrypted spool,
 * validation, re-encoding, keyed hashes, encryption, blob writes, PostgreSQL), next to the same images only
 * inspected (decoded and re-encoded) in one thread, and the raw AES-256-GCM + SHA-256 rate, in one run. A
 * benchmark, not a test: it prints figures and asserts nothing, and its name keeps it out of the normal test run:
 * {@code deploy/local/test.sh -pl dataset-service -am -Dtest=ImportBenchmark -Dsurefire.failIfNoSpecifiedTests=false}
 * ({@code -Dloupe.bench.images=2000}, the default). The gateway's part (multipart upload, zip reading) is not in
 * this figure; the service and the client share one JVM, so the peak heap is of both.
 */
@QuarkusTest
class ImportBenchmark {
    private static final int IMAGES = Integer.getInteger("loupe.bench.images", 2000);
    private static final int SIZE = 512;

    @Test
    void importThroughput() throws Exception {
        // On disk, not in this JVM's heap, which the service shares.
        Path folder = Files.createTempDirectory("loupe-import-bench");
        List<Path> pngs = new ArrayList<>(IMAGES);
        Random random = new Random(7);
        long totalBytes = 0;
        for (int i = 0; i < IMAGES; i++) {
            byte[] png = scene(random);
            Path file = folder.resolve(i + ".png");
            Files.write(file, png);
            pngs.add(file);
            totalBytes += png.length;
        }
        System.out.printf("%d PNG images of %dx%d, %.1f MB encoded%n", IMAGES, SIZE, SIZE, totalBytes / 1e6);

        // 1. Validation and re-encoding alone, one thread.
        ImageInspector inspector = new ImageInspector();
        long normalisedBytes = 0;
        long started = System.nanoTime();
        List<byte[]> normalised = new ArrayList<>(IMAGES);
        for (Path png : pngs) {
            NormalisedImage image = inspector.inspect(Files.readAllBytes(png));
            normalisedBytes += image.size();
            if (normalised.size() < 200) {
                normalised.add(image.toByteArray());
            }
        }
        double inspectSeconds = (System.nanoTime() - started) / 1e9;
        System.out.printf("inspect + re-encode only, 1 thread: %.1f s, %.1f images/s, %.1f MB/s%n", inspectSeconds,
                IMAGES / inspectSeconds, totalBytes / 1e6 / inspectSeconds);

        // 2. Raw AES-256-GCM + SHA-256 over the same number of normalised bytes.
        byte[] key = new byte[32];
        new SecureRandom().nextBytes(key);
        started = System.nanoTime();
        long sealed = 0;
        for (int i = 0; sealed < normalisedBytes; i++) {
            byte[] plain = normalised.get(i % normalised.size());
            MessageDigest.getInstance("SHA-256").digest(plain);
            byte[] nonce = new byte[12];
            nonce[0] = (byte) i;
            nonce[1] = (byte) (i >> 8);
            Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
            cipher.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key, "AES"), new GCMParameterSpec(128, nonce));
            cipher.doFinal(plain);
            sealed += plain.length;
        }
        double cryptoSeconds = (System.nanoTime() - started) / 1e9;
        System.out.printf("raw AES-256-GCM + SHA-256: %.1f MB/s (%.2f s for the %.1f MB of normalised PNGs)%n",
                sealed / 1e6 / cryptoSeconds, cryptoSeconds, normalisedBytes / 1e6);

        // 3. The whole import path.
        ManagedChannel channel = ManagedChannelBuilder.forAddress("localhost", 18081).usePlaintext().build();
        try {
            String token = KeycloakTokens.accessToken("acme-steward");
            String dataset = DatasetServiceGrpc.newBlockingStub(channel)
                    .withCallCredentials(new BearerCallCredentials(token, null))
                    .createDataset(CreateDatasetRequest.newBuilder()
                            .setName("bench-" + UUID.randomUUID().toString().substring(0, 8)).build())
                    .getDataset().getId();
            resetPeaks();
            started = System.nanoTime();
            Import result = importAll(channel, token, dataset, pngs);
            double importSeconds = (System.nanoTime() - started) / 1e9;
            System.out.printf(
                    "whole import path: %s, %d records in %.1f s: %.1f images/s, %.1f MB/s, peak heap %d MB%n",
                    result.getState(), result.getRecordsAccepted(), importSeconds, IMAGES / importSeconds,
                    totalBytes / 1e6 / importSeconds, peakHeapBytes() / (1024 * 1024));
            System.out.printf("import path against inspect-only: +%.0f%% time%n",
                    (importSeconds / inspectSeconds - 1) * 100);
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    private static Import importAll(ManagedChannel channel, String token, String dataset, List<Path> pngs)
            throws Exception {
        CompletableFuture<Import> result = new CompletableFuture<>();
        StreamObserver<ImportChunk> upload = DatasetServiceGrpc.newStub(channel)
                .withCallCredentials(new BearerCallCredentials(token, null))
                .withDeadlineAfter(30, TimeUnit.MINUTES)
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
                .setDatasetId(dataset)
                .setFormat(ImportFormat.IMPORT_FORMAT_LOUPE)
                .setMode(ImportMode.IMPORT_MODE_ACCEPT_VALID)
                .setFileName("bench.jsonl")).build());
        // The records first, as the gateway sends them: the service validates while the images arrive.
        StringBuilder records = new StringBuilder();
        for (int i = 0; i < pngs.size(); i++) {
            records.append("{\"images\": [\"img/").append(i).append(".png\"], \"messages\": [{\"role\": \"user\",")
                    .append(" \"content\": \"<image>\\nWhat is in image ").append(i).append("?\"}, {\"role\":")
                    .append(" \"assistant\", \"content\": \"Shapes.\"}]}\n");
        }
        upload.onNext(ImportChunk.newBuilder()
                .setRecordsData(ByteString.copyFrom(records.toString(), StandardCharsets.UTF_8)).build());
        for (int i = 0; i < pngs.size(); i++) {
            byte[] png = Files.readAllBytes(pngs.get(i));
            for (int offset = 0; offset < png.length; offset += 65536) {
                awaitReady(upload);
                int end = Math.min(png.length, offset + 65536);
                upload.onNext(ImportChunk.newBuilder().setImageData(ImageFileChunk.newBuilder()
                        .setFileName("img/" + i + ".png")
                        .setData(ByteString.copyFrom(png, offset, end - offset))
                        .setLast(end == png.length)).build());
            }
        }
        upload.onCompleted();
        try {
            return result.get(30, TimeUnit.MINUTES);
        } catch (ExecutionException e) {
            throw (Exception) e.getCause();
        }
    }

    /** Honours gRPC flow control, so the client does not queue the whole upload in memory. */
    private static void awaitReady(StreamObserver<ImportChunk> upload) throws InterruptedException {
        ClientCallStreamObserver<ImportChunk> call = (ClientCallStreamObserver<ImportChunk>) upload;
        while (!call.isReady()) {
            Thread.sleep(1);
        }
    }

    /** A 512x512 scene of gradients and shapes: compresses like a simple photo, not like noise or a flat fill. */
    private static byte[] scene(Random random) throws IOException {
        BufferedImage image = new BufferedImage(SIZE, SIZE, BufferedImage.TYPE_INT_RGB);
        Graphics2D graphics = image.createGraphics();
        graphics.setPaint(new GradientPaint(0, 0, new Color(random.nextInt(0xFFFFFF)), SIZE, SIZE,
                new Color(random.nextInt(0xFFFFFF))));
        graphics.fillRect(0, 0, SIZE, SIZE);
        for (int shape = 0; shape < 12; shape++) {
            graphics.setColor(new Color(random.nextInt(0xFFFFFF)));
            graphics.fillOval(random.nextInt(SIZE), random.nextInt(SIZE), 20 + random.nextInt(150),
                    20 + random.nextInt(150));
        }
        for (int dot = 0; dot < 4000; dot++) {
            image.setRGB(random.nextInt(SIZE), random.nextInt(SIZE), random.nextInt(0xFFFFFF));
        }
        graphics.dispose();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(image, "png", out);
        return out.toByteArray();
    }

    private static void resetPeaks() {
        System.gc();
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == MemoryType.HEAP) {
                pool.resetPeakUsage();
            }
        }
    }

    /** Sum of the heap pools' peaks: an upper bound of the heap in use at any one moment. */
    private static long peakHeapBytes() {
        long peak = 0;
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == MemoryType.HEAP) {
                peak += pool.getPeakUsage().getUsed();
            }
        }
        return peak;
    }
}
