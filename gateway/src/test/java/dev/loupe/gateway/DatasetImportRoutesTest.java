package dev.loupe.gateway;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import com.google.protobuf.ByteString;
import com.google.protobuf.Timestamp;
import io.grpc.Server;
import io.grpc.ServerBuilder;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import io.restassured.specification.RequestSpecification;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.loupe.contracts.common.v1.PageInfo;
import dev.loupe.contracts.dataset.v1.ChatMessage;
import dev.loupe.contracts.dataset.v1.DatasetServiceGrpc;
import dev.loupe.contracts.dataset.v1.DownloadImageRequest;
import dev.loupe.contracts.dataset.v1.GetImportRequest;
import dev.loupe.contracts.dataset.v1.GetRecordRequest;
import dev.loupe.contracts.dataset.v1.ImageChunk;
import dev.loupe.contracts.dataset.v1.ImageRef;
import dev.loupe.contracts.dataset.v1.Import;
import dev.loupe.contracts.dataset.v1.ImportChunk;
import dev.loupe.contracts.dataset.v1.ImportFormat;
import dev.loupe.contracts.dataset.v1.ImportMode;
import dev.loupe.contracts.dataset.v1.ImportRejection;
import dev.loupe.contracts.dataset.v1.ImportStart;
import dev.loupe.contracts.dataset.v1.ImportState;
import dev.loupe.contracts.dataset.v1.ListImportRejectionsRequest;
import dev.loupe.contracts.dataset.v1.ListImportRejectionsResponse;
import dev.loupe.contracts.dataset.v1.ListRecordsRequest;
import dev.loupe.contracts.dataset.v1.ListRecordsResponse;
import dev.loupe.contracts.dataset.v1.Record;
import dev.loupe.support.testing.KeycloakTokens;

import static io.restassured.RestAssured.given;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.endsWith;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.nullValue;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The import and record routes through the real gateway, with the dataset-service replaced at the process
 * boundary by a gRPC server that records what it receives.
 */
@QuarkusTest
class DatasetImportRoutesTest {
    /** The port the test profile points the gateway's dataset client at. */
    private static final int FAKE_DATASET_PORT = 18089;
    private static final Timestamp NOW = Timestamp.newBuilder().setSeconds(1_780_000_000).build();
    private static final byte[] PNG_START = {(byte) 0x89, 'P', 'N', 'G'};
    private static final byte[] PNG_REST = {13, 10, 26, 10};

    private final AtomicInteger importCalls = new AtomicInteger();
    private final List<ImportChunk> received = new CopyOnWriteArrayList<>();
    private final AtomicReference<Status> importEndedWith = new AtomicReference<>();
    private final AtomicReference<ListImportRejectionsRequest> rejectionsAsked = new AtomicReference<>();
    private Server fakeDatasetService;

    @BeforeEach
    void startFake() throws IOException {
        fakeDatasetService = ServerBuilder.forPort(FAKE_DATASET_PORT)
                .addService(new DatasetServiceGrpc.DatasetServiceImplBase() {
                    @Override
                    public StreamObserver<ImportChunk> importRecords(StreamObserver<Import> response) {
                        importCalls.incrementAndGet();
                        return new StreamObserver<>() {
                            @Override
                            public void onNext(ImportChunk chunk) {
                                received.add(chunk);
                            }

                            @Override
                            public void onError(Throwable failure) {
                                importEndedWith.set(Status.fromThrowable(failure));
                            }

                            @Override
                            public void onCompleted() {
                                importEndedWith.set(Status.OK);
                                ImportStart start = received.get(0).getStart();
                                response.onNext(anImport(start.getDatasetId(), start.getFormat(), start.getMode()));
                                response.onCompleted();
                            }
                        };
                    }

                    @Override
                    public void getImport(GetImportRequest request, StreamObserver<Import> response) {
                        if (!request.getImportId().equals("imp-1")) {
                            response.onError(Status.NOT_FOUND.asRuntimeException());
                            return;
                        }
                        response.onNext(anImport(request.getDatasetId(), ImportFormat.IMPORT_FORMAT_LOUPE,
                                ImportMode.IMPORT_MODE_ACCEPT_VALID));
                        response.onCompleted();
                    }

                    @Override
                    public void listImportRejections(ListImportRejectionsRequest request,
                            StreamObserver<ListImportRejectionsResponse> response) {
                        rejectionsAsked.set(request);
                        response.onNext(ListImportRejectionsResponse.newBuilder()
                                .addRejections(ImportRejection.newBuilder()
                                        .setLine(3)
                                        .setPointer("/images/0")
                                        .setCode("image_not_found")
                                        .setMessage("pets/dog.png is not in the images archive"))
                                .setPage(PageInfo.newBuilder().setHasMore(true).setNextAfter("1"))
                                .build());
                        response.onCompleted();
                    }

                    @Override
                    public void listRecords(ListRecordsRequest request, StreamObserver<ListRecordsResponse> response) {
                        response.onNext(ListRecordsResponse.newBuilder()
                                .addRecords(aRecord(request.getDatasetId(), "rec-1"))
                                .setPage(PageInfo.newBuilder().setHasMore(true).setNextAfter("rec-1"))
                                .build());
                        response.onCompleted();
                    }

                    @Override
                    public void getRecord(GetRecordRequest request, StreamObserver<Record> response) {
                        if (!request.getRecordId().equals("rec-1")) {
                            response.onError(Status.NOT_FOUND.asRuntimeException());
                            return;
                        }
                        response.onNext(aRecord(request.getDatasetId(), request.getRecordId()));
                        response.onCompleted();
                    }

                    @Override
                    public void downloadImage(DownloadImageRequest request, StreamObserver<ImageChunk> response) {
                        if (request.getImageIndex() != 0) {
                            response.onError(Status.NOT_FOUND.asRuntimeException());
                            return;
                        }
                        response.onNext(ImageChunk.newBuilder()
                                .setMediaType("image/png")
                                .setData(ByteString.copyFrom(PNG_START))
                                .build());
                        response.onNext(ImageChunk.newBuilder().setData(ByteString.copyFrom(PNG_REST)).build());
                        response.onCompleted();
                    }
                })
                .build()
                .start();
    }

    @AfterEach
    void stopFake() throws InterruptedException {
        fakeDatasetService.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    @Test
    void importStreamsTheUploadAndAnswers201WithLocation() throws IOException {
        byte[] cat = random(70_000);
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put("pets/", null);
        files.put("pets/cat.png", cat);
        files.put("pets/empty.png", new byte[0]);
        byte[] records = "{\"images\": [\"pets/cat.png\"], \"messages\": []}\n".getBytes(StandardCharsets.UTF_8);

        Response answer = steward().header("Idempotency-Key", "key-1")
                .multiPart("file", "train.jsonl", records, "application/x-ndjson")
                .multiPart("format", "loupe")
                .multiPart("mode", "all_or_nothing")
                .multiPart("images", "images.zip", zip(files), "application/zip")
                .post("/v1/datasets/d-1/imports");

        answer.then()
                .statusCode(201)
                .header("Location", endsWith("/v1/datasets/d-1/imports/imp-1"))
                .body("object", equalTo("dataset.import"))
                .body("dataset_id", equalTo("d-1"))
                .body("format", equalTo("loupe"))
                .body("mode", equalTo("all_or_nothing"))
                .body("status", equalTo("succeeded"))
                .body("lines_rejected", equalTo(1))
                .body("failure_reason", nullValue())
                .body("report", nullValue());
        ImportStart start = received.get(0).getStart();
        assertEquals("d-1", start.getDatasetId());
        assertEquals(ImportFormat.IMPORT_FORMAT_LOUPE, start.getFormat());
        assertEquals(ImportMode.IMPORT_MODE_ALL_OR_NOTHING, start.getMode());
        assertEquals("key-1", start.getIdempotencyKey());
        assertEquals("train.jsonl", start.getFileName());
        List<ImportChunk> images = received.stream().filter(ImportChunk::hasImageData).toList();
        assertEquals(List.of("pets/cat.png", "pets/cat.png", "pets/empty.png"),
                images.stream().map(c -> c.getImageData().getFileName()).toList());
        assertArrayEquals(cat, concat(images.subList(0, 2).stream().map(c -> c.getImageData().getData()).toList()));
        assertTrue(images.get(2).getImageData().getLast());
        // The records file comes right after the start, before the images.
        assertArrayEquals(records, received.get(1).getRecordsData().toByteArray());
    }

    @Test
    void badFormIs400NamingThePartAndCallsNothing() {
        steward().multiPart("file", "train.jsonl", new byte[]{'{', '}'}, "application/x-ndjson")
                .multiPart("format", "xml")
                .post("/v1/datasets/d-1/imports")
                .then()
                .statusCode(400)
                .contentType("application/problem+json")
                .body("field", equalTo("format"));
        steward().multiPart("format", "loupe")
                .post("/v1/datasets/d-1/imports")
                .then()
                .statusCode(400)
                .body("field", equalTo("file"));
        steward().multiPart("file", "train.jsonl", new byte[]{'{', '}'}, "application/x-ndjson")
                .multiPart("format", "loupe")
                .multiPart("images", "images.zip", random(1000), "application/zip")
                .post("/v1/datasets/d-1/imports")
                .then()
                .statusCode(400)
                .body("field", equalTo("images"));
        assertEquals(0, importCalls.get());
    }

    @Test
    void imageOverTheLimitFoundWhileStreamingCancelsTheImportAndIs400() throws IOException {
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put("huge.png", random(10 * 1024 * 1024 + 1));
        byte[] forged = zip(files);
        // The archive's central directory claims 10 bytes, so only the count while streaming finds the truth.
        declareUncompressedSize(forged, 10);

        steward().multiPart("file", "train.jsonl", new byte[]{'{', '}'}, "application/x-ndjson")
                .multiPart("format", "loupe")
                .multiPart("images", "images.zip", forged, "application/zip")
                .post("/v1/datasets/d-1/imports")
                .then()
                .statusCode(400)
                .contentType("application/problem+json")
                .body("field", equalTo("images"))
                .body("detail", equalTo("image file 'huge.png' is larger than the limit of 10485760 bytes"));
        assertEquals(1, importCalls.get());
        await().atMost(5, TimeUnit.SECONDS).until(() -> importEndedWith.get() != null);
        assertEquals(Status.Code.CANCELLED, importEndedWith.get().getCode());
    }

    @Test
    void rolesWithoutTheCapabilityAreRefusedBeforeAnyCall() {
        given().auth()
                .oauth2(KeycloakTokens.accessToken("acme-compliance"))
                .multiPart("file", "train.jsonl", new byte[]{'{', '}'}, "application/x-ndjson")
                .multiPart("format", "loupe")
                .post("/v1/datasets/d-1/imports")
                .then()
                .statusCode(403)
                .contentType("application/problem+json");
        given().auth()
                .oauth2(KeycloakTokens.accessToken("acme-compliance"))
                .get("/v1/datasets/d-1/records/rec-1/images/0")
                .then()
                .statusCode(403)
                .contentType("application/problem+json");
        assertEquals(0, importCalls.get());
    }

    @Test
    void importWithItsFirstRejectedLines() {
        steward().get("/v1/datasets/d-1/imports/imp-1")
                .then()
                .statusCode(200)
                .body("id", equalTo("imp-1"))
                .body("finished_at", equalTo("2026-05-28T20:26:40Z"))
                .body("report.rejected_lines[0].line", equalTo(3))
                .body("report.rejected_lines[0].pointer", equalTo("/images/0"))
                .body("report.rejected_lines[0].code", equalTo("image_not_found"))
                .body("report.has_more_rejections", equalTo(true));
        assertEquals(100, rejectionsAsked.get().getPage().getLimit());
        assertEquals("imp-1", rejectionsAsked.get().getImportId());

        steward().get("/v1/datasets/d-1/imports/other")
                .then()
                .statusCode(404)
                .contentType("application/problem+json");
    }

    @Test
    void recordsAreListedAndRead() {
        steward().get("/v1/datasets/d-1/records?limit=1")
                .then()
                .statusCode(200)
                .body("object", equalTo("list"))
                .body("data[0].object", equalTo("dataset.record"))
                .body("data[0].images[0].media_type", equalTo("image/png"))
                .body("data[0].messages[1].content", equalTo("A cat."))
                .body("data[0].annotations.captions[0].text", equalTo("A grey cat."))
                .body("has_more", equalTo(true))
                .body("next_after", equalTo("rec-1"));
        steward().get("/v1/datasets/d-1/records?limit=0").then().statusCode(400).body("field", equalTo("limit"));

        steward().get("/v1/datasets/d-1/records/rec-1")
                .then()
                .statusCode(200)
                .body("id", equalTo("rec-1"))
                .body("client_id", nullValue())
                .body("record_hash", equalTo("hash-rec-1"));
        steward().get("/v1/datasets/d-1/records/nope")
                .then()
                .statusCode(404)
                .contentType("application/problem+json");
    }

    @Test
    void imageIsStreamedWithTheServicesMediaTypeAndNeverCached() {
        Response image = steward().get("/v1/datasets/d-1/records/rec-1/images/0");

        image.then().statusCode(200).header("Cache-Control", "no-store").header("X-Content-Type-Options", "nosniff");
        assertEquals("image/png", image.contentType());
        assertArrayEquals(concat(List.of(ByteString.copyFrom(PNG_START), ByteString.copyFrom(PNG_REST))),
                image.asByteArray());
    }

    @Test
    void missingImageIs404AndBadIndexIs400() {
        steward().get("/v1/datasets/d-1/records/rec-1/images/3")
                .then()
                .statusCode(404)
                .contentType("application/problem+json");
        steward().get("/v1/datasets/d-1/records/rec-1/images/first")
                .then()
                .statusCode(400)
                .contentType("application/problem+json")
                .body("field", equalTo("index"));
    }

    private static RequestSpecification steward() {
        return given().auth().oauth2(KeycloakTokens.accessToken("acme-steward"));
    }

    private static Import anImport(String datasetId, ImportFormat format, ImportMode mode) {
        return Import.newBuilder()
                .setId("imp-1")
                .setDatasetId(datasetId)
                .setFormat(format)
                .setMode(mode)
                .setState(ImportState.IMPORT_STATE_SUCCEEDED)
                .setLinesRead(2)
                .setRecordsAccepted(1)
                .setLinesRejected(1)
                .setCreatedAt(NOW)
                .setFinishedAt(NOW)
                .build();
    }

    private static Record aRecord(String datasetId, String id) {
        return Record.newBuilder()
                .setId(id)
                .setDatasetId(datasetId)
                .addImages(ImageRef.newBuilder()
                        .setMediaType("image/png")
                        .setWidth(2)
                        .setHeight(1)
                        .setSizeBytes(8)
                        .setContentHash("h"))
                .addMessages(ChatMessage.newBuilder().setRole("user").setContent("<image>\nWhat is this?"))
                .addMessages(ChatMessage.newBuilder().setRole("assistant").setContent("A cat."))
                .setAnnotationsJson("{\"boxes\":[],\"captions\":[{\"text\":\"A grey cat.\",\"image\":0}],"
                        + "\"grounded_qa\":[]}")
                .setRecordHash("hash-" + id)
                .setEstimatedTokens(12)
                .setImportId("imp-1")
                .setCreatedAt(NOW)
                .build();
    }

    /** A zip of the files in order; a null content makes a folder entry. */
    private static byte[] zip(Map<String, byte[]> files) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream zipped = new ZipOutputStream(bytes)) {
            for (Map.Entry<String, byte[]> file : files.entrySet()) {
                zipped.putNextEntry(new ZipEntry(file.getKey()));
                if (file.getValue() != null) {
                    zipped.write(file.getValue());
                }
                zipped.closeEntry();
            }
        }
        return bytes.toByteArray();
    }

    /** Rewrites the uncompressed size in every central directory header, as a forged archive would. */
    private static void declareUncompressedSize(byte[] zip, int size) {
        ByteBuffer buffer = ByteBuffer.wrap(zip).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i + 46 <= zip.length; i++) {
            if (buffer.getInt(i) == 0x02014b50) {
                buffer.putInt(i + 24, size);
            }
        }
    }

    private static byte[] random(int size) {
        byte[] bytes = new byte[size];
        new Random(size).nextBytes(bytes);
        return bytes;
    }

    private static byte[] concat(List<ByteString> parts) {
        return parts.stream().reduce(ByteString.EMPTY, ByteString::concat).toByteArray();
    }
}
