package dev.loupe.dataset;

import io.grpc.Channel;
import io.quarkus.test.junit.QuarkusTest;

import dev.loupe.contracts.common.v1.PageRequest;
import dev.loupe.contracts.dataset.v1.DatasetServiceGrpc;
import dev.loupe.contracts.dataset.v1.ListDatasetsRequest;
import dev.loupe.support.testing.GrpcAuthenticationContract;

/** Token abuse on the dataset-service's own gRPC port. */
@QuarkusTest
class DatasetGrpcAuthenticationTest extends GrpcAuthenticationContract {

    @Override
    protected int port() {
        return 18081;
    }

    @Override
    protected void callAnRpc(Channel channel) {
        DatasetServiceGrpc.newBlockingStub(channel)
                .listDatasets(ListDatasetsRequest.newBuilder().setPage(PageRequest.newBuilder().setLimit(1)).build());
    }
}
