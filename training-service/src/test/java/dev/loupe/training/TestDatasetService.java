package dev.loupe.training;

import io.grpc.Status;
import io.quarkus.grpc.GrpcService;
import io.smallrye.mutiny.Uni;

import dev.loupe.contracts.dataset.v1.DatasetVersion;
import dev.loupe.contracts.dataset.v1.GetVersionRequest;
import dev.loupe.contracts.dataset.v1.MutinyDatasetServiceGrpc;
import dev.loupe.support.security.Authorized;
import dev.loupe.support.security.Caller;
import dev.loupe.support.security.Capability;

/**
 * A stand-in for the dataset-service's version look-up in the training-service's own tests (the system tests run
 * the real one): the versions {@link TestExampleService} serves, all of tenant {@code acme}. It checks what the
 * real one checks: the caller's roles (through the same interceptor) and tenant.
 */
@GrpcService
public class TestDatasetService extends MutinyDatasetServiceGrpc.DatasetServiceImplBase {

    @Override
    @Authorized(Capability.DATASETS_READ)
    public Uni<DatasetVersion> getVersion(GetVersionRequest request) {
        Caller caller = Caller.current();
        TestExampleService.Version version = TestExampleService.VERSIONS.get(request.getVersionId());
        if (version == null || !caller.tenant().orElse("").equals(TestExampleService.TENANT)) {
            return Uni.createFrom()
                    .failure(Status.NOT_FOUND.withDescription("version does not exist").asRuntimeException());
        }
        return Uni.createFrom()
                .item(DatasetVersion.newBuilder()
                        .setId(request.getVersionId())
                        .setDatasetId(TestExampleService.DATASET_ID)
                        .setNumber(1)
                        .setRecordCount(version.train() + version.validation())
                        .setTrainCount(version.train())
                        .setValidationCount(version.validation())
                        .setManifestHash("ab".repeat(32))
                        .build());
    }
}
