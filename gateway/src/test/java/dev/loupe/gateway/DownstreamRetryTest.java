package dev.loupe.gateway;

import java.io.IOException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import io.grpc.Server;
import io.grpc.ServerBuilder;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.loupe.contracts.common.v1.Actor;
import dev.loupe.contracts.dataset.v1.CreateDatasetRequest;
import dev.loupe.contracts.dataset.v1.CreateDatasetResponse;
import dev.loupe.contracts.dataset.v1.Dataset;
import dev.loupe.contracts.dataset.v1.DatasetServiceGrpc;
import dev.loupe.contracts.dataset.v1.GetDatasetRequest;
import dev.loupe.support.testing.KeycloakTokens;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Reads are retried when the dataset-service is briefly unavailable; creating calls are not. The
 * dataset-service is replaced here, at the process boundary, by a gRPC server that fails on purpose.
 */
@QuarkusTest
class DownstreamRetryTest {
    /** The port the test profile points the gateway's dataset client at. */
    private static final int FAKE_DATASET_PORT = 18089;

    private final AtomicInteger getCalls = new AtomicInteger();
    private final AtomicInteger createCalls = new AtomicInteger();
    private Server fakeDatasetService;

    @BeforeEach
    void startFake() throws IOException {
        fakeDatasetService = ServerBuilder.forPort(FAKE_DATASET_PORT)
                .addService(new DatasetServiceGrpc.DatasetServiceImplBase() {
                    @Override
                    public void getDataset(GetDatasetRequest request, StreamObserver<Dataset> response) {
                        if (getCalls.incrementAndGet() == 1) {
                            response.onError(Status.UNAVAILABLE.asRuntimeException());
                            return;
                        }
                        response.onNext(Dataset.newBuilder()
                                .setId(request.getDatasetId())
                                .setName("flaky")
                                .setCreatedBy(Actor.getDefaultInstance())
                                .build());
                        response.onCompleted();
                    }

                    @Override
                    public void createDataset(CreateDatasetRequest request,
                            StreamObserver<CreateDatasetResponse> response) {
                        createCalls.incrementAndGet();
                        response.onError(Status.UNAVAILABLE.asRuntimeException());
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
    void readIsRetriedAfterUnavailable() {
        given().auth()
                .oauth2(KeycloakTokens.accessToken("acme-steward"))
                .when()
                .get("/v1/datasets/d-1")
                .then()
                .statusCode(200)
                .body("name", equalTo("flaky"));
        assertEquals(2, getCalls.get());
    }

    @Test
    void createIsNotRetried() {
        given().auth()
                .oauth2(KeycloakTokens.accessToken("acme-steward"))
                .contentType("application/json")
                .body("{\"name\":\"once\"}")
                .when()
                .post("/v1/datasets")
                .then()
                .statusCode(503)
                .contentType("application/problem+json");
        assertEquals(1, createCalls.get());
    }
}
