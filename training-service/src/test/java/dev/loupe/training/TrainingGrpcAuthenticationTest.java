package dev.loupe.training;

import io.grpc.Channel;
import io.quarkus.test.junit.QuarkusTest;

import dev.loupe.contracts.training.v1.ListJobsRequest;
import dev.loupe.contracts.training.v1.TrainingServiceGrpc;
import dev.loupe.support.testing.GrpcAuthenticationContract;

/** Token abuse on the training-service's own gRPC port. */
@QuarkusTest
class TrainingGrpcAuthenticationTest extends GrpcAuthenticationContract {

    @Override
    protected int port() {
        return 18082;
    }

    @Override
    protected String authorizedUser() {
        return "acme-engineer";
    }

    @Override
    protected void callAnRpc(Channel channel) {
        TrainingServiceGrpc.newBlockingStub(channel).listJobs(ListJobsRequest.getDefaultInstance());
    }
}
