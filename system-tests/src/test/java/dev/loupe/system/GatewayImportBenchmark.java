package dev.loupe.system;

import java.awt.Color;
import java.awt.GradientPaint;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import javax.imageio.ImageIO;

import io.restassured.response.Response;
import org.junit.jupiter.api.Test;

import static dev.loupe.system.Gateway.as;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Import throughput through the whole path a user takes: a multipart upload to the gateway (records file and a
 * zip of PNG images), the gateway's zip reading and gRPC stream, the dataset-service's validation, re-encoding,
 * encryption, blob writes and PostgreSQL. Prints images/s, MB/s, and the peak heap of the gateway and of the
 * dataset-service, sampled from their /q/metrics while the import runs (with their peak RSS since start). A
 * benchmark, not a test: its name keeps it out of the normal run; run it on the stack with
 * {@code deploy/local/test.sh -pl system-tests -Dit.test=GatewayImportBenchmark} after {@code mvn install -DskipTests} (add
 * {@code -Dloupe.bench.images=2000}, the default). The images are those of the dataset-service's ImportBenchmark
 * (same generator, same seed), which prints the inspect-only and raw-crypto figures to compare with.
 */
class GatewayImportBenchmark {
    private static final int IMAGES = Integer.getInteger("loupe.bench.images", 2000);
    private static final int SIZE = 512;
    private static final Pattern HEAP = Pattern.compile("^jvm_memory_used_bytes\\{area=\"heap\"[^}]*} ([0-9.Ee+]+)",
            Pattern.MULTILINE);

    @Test
    void importThroughTheGateway() throws Exception {
        Path folder = Files.createTempDirectory("loupe-gateway-bench");
        Path zip = folder.resolve("images.zip");
        Path records = folder.resolve("records.jsonl");
        Random random = new Random(7);
        long imageBytes = 0;
        StringBuilder lines = new StringBuilder();
        try (ZipOutputStream out = new ZipOutputStream(Files.newOutputStream(zip))) {
            // PNGs are compressed already: stored, as photo archives usually are.
            out.setLevel(0);
            for (int i = 0; i < IMAGES; i++) {
                byte[] png = scene(random);
                imageBytes += png.length;
                out.putNextEntry(new ZipEntry("img/" + i + ".png"));
                out.write(png);
                out.closeEntry();
                lines.append("{\"images\": [\"img/").append(i).append(".png\"], \"messages\": [{\"role\": \"user\",")
                        .append(" \"content\": \"<image>\\nWhat is in image ").append(i).append("?\"}, {\"role\":")
                        .append(" \"assistant\", \"content\": \"Shapes.\"}]}\n");
            }
        }
        Files.writeString(records, lines);
        System.out.printf("%d PNG images of %dx%d, %.1f MB encoded, zip of %.1f MB%n", IMAGES, SIZE, SIZE,
                imageBytes / 1e6, Files.size(zip) / 1e6);

        String dataset = Gateway.createDataset("acme-steward", Gateway.uniqueName("bench"));
        HeapSampler gateway = new HeapSampler(Gateway.URL);
        HeapSampler service = new HeapSampler(System.getProperty("loupe.test.dataset-url", "http://localhost:8081"));
        gateway.start();
        service.start();
        long started = System.nanoTime();
        Response response = as("acme-steward").multiPart("file", records.toFile(), "application/x-ndjson")
                .multiPart("images", zip.toFile(), "application/zip")
                .multiPart("format", "loupe")
                .post("/v1/datasets/" + dataset + "/imports");
        double seconds = (System.nanoTime() - started) / 1e9;
        gateway.stop();
        service.stop();
        assertEquals(201, response.statusCode(), response.asString());
        assertEquals(IMAGES, response.jsonPath().getInt("records_accepted"), response.asString());

        System.out.printf("through the gateway: %d records in %.1f s: %.1f images/s, %.1f MB/s%n", IMAGES, seconds,
                IMAGES / seconds, imageBytes / 1e6 / seconds);
        System.out.printf("peak heap while importing: gateway %d MB, dataset-service %d MB%n",
                gateway.peak() >> 20, service.peak() >> 20);
        System.out.printf("peak RSS since start: gateway %s, dataset-service %s%n", peakRss("gateway"),
                peakRss("dataset-service"));
        Files.delete(zip);
        Files.delete(records);
        Files.delete(folder);
    }

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
        // Noise, so the PNGs compress like photographs rather than like flat drawings.
        for (int dot = 0; dot < 4000; dot++) {
            image.setRGB(random.nextInt(SIZE), random.nextInt(SIZE), random.nextInt(0xFFFFFF));
        }
        graphics.dispose();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(image, "png", out);
        return out.toByteArray();
    }

    /** Peak resident memory of a stack service since it started, from /proc (Linux). */
    private static String peakRss(String service) {
        try {
            String pid = Files.readString(StackServices.stackDir().resolve("run").resolve(service + ".pid")).trim();
            for (String line : Files.readAllLines(Path.of("/proc", pid, "status"))) {
                if (line.startsWith("VmHWM:")) {
                    return line.substring("VmHWM:".length()).trim();
                }
            }
        } catch (IOException | RuntimeException e) {
            return "unknown (" + e.getMessage() + ")";
        }
        return "unknown";
    }

    /** Samples a service's used heap (all heap pools) from its /q/metrics every 100 ms and keeps the largest. */
    private static final class HeapSampler {
        private final HttpClient client = HttpClient.newHttpClient();
        private final URI metrics;
        private final AtomicLong peak = new AtomicLong();
        private final AtomicBoolean running = new AtomicBoolean(true);
        private Thread thread;

        HeapSampler(String baseUrl) {
            this.metrics = URI.create(baseUrl + "/q/metrics");
        }

        void start() {
            thread = new Thread(() -> {
                while (running.get()) {
                    try {
                        String text = client.send(HttpRequest.newBuilder(metrics).build(),
                                HttpResponse.BodyHandlers.ofString()).body();
                        double used = 0;
                        Matcher matcher = HEAP.matcher(text);
                        while (matcher.find()) {
                            used += Double.parseDouble(matcher.group(1));
                        }
                        long sample = (long) used;
                        peak.accumulateAndGet(sample, Math::max);
                        Thread.sleep(100);
                    } catch (InterruptedException e) {
                        return;
                    } catch (IOException e) {
                        // a sample lost; the next one counts
                    }
                }
            }, "heap-sampler");
            thread.setDaemon(true);
            thread.start();
        }

        void stop() throws InterruptedException {
            running.set(false);
            thread.join();
        }

        long peak() {
            return peak.get();
        }
    }
}
