package dev.loupe.gateway.rest;

import java.net.URI;

import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.UriInfo;

import io.quarkus.grpc.GrpcClient;
import io.smallrye.mutiny.Uni;
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;
import org.jboss.resteasy.reactive.RestQuery;
import org.jboss.resteasy.reactive.RestResponse;

import dev.loupe.contracts.common.v1.PageRequest;
import dev.loupe.contracts.training.v1.ListBaseModelsRequest;
import dev.loupe.contracts.training.v1.MutinyTrainingServiceGrpc.MutinyTrainingServiceStub;
import dev.loupe.contracts.training.v1.RegisterBaseModelRequest;
import dev.loupe.gateway.api.BaseModelView;
import dev.loupe.gateway.api.ListPage;
import dev.loupe.gateway.api.RegisterModelBody;
import dev.loupe.gateway.grpc.DownstreamCalls;
import dev.loupe.support.error.ProblemException;
import dev.loupe.support.security.Authorized;
import dev.loupe.support.security.Capability;

/**
 * The model registry: base models, registered by platform operators from the platform's model store and shared by
 * every tenant's fine-tuning jobs. Registration reads and hashes the checkpoint; nothing is downloaded.
 */
@Path("/v1/models")
@Produces(MediaType.APPLICATION_JSON)
@Tag(name = "Models")
public class ModelResource {
    private final MutinyTrainingServiceStub training;
    private final DownstreamCalls calls;

    public ModelResource(@GrpcClient("training") MutinyTrainingServiceStub training, DownstreamCalls calls) {
        this.training = training;
        this.calls = calls;
    }

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    @Authorized(Capability.PLATFORM_OPERATE)
    @Operation(summary = "Register a base model", description = "Reads the checkpoint folder from the model store, "
            + "checks its config.json and safetensors headers, hashes every file, and records it with the audit event "
            + "`model.base.registered`. 400 names the field at fault (a folder outside the store is `storage_uri`); 409 if "
            + "the id is taken.")
    public Uni<RestResponse<BaseModelView>> register(RegisterModelBody body, UriInfo uri) {
        if (body == null) {
            throw ProblemException.invalid("id", "a JSON body with an id and a storage_uri is required");
        }
        RegisterBaseModelRequest request = RegisterBaseModelRequest.newBuilder()
                .setId(body.id() == null ? "" : body.id())
                .setDisplayName(body.displayName() == null ? "" : body.displayName())
                .setArchitecture(body.architecture() == null ? "" : body.architecture())
                .setStorageUri(body.storageUri() == null ? "" : body.storageUri())
                .build();
        return calls.onBehalfOfCaller(training).registerBaseModel(request).map(registered -> {
            BaseModelView view = BaseModelView.of(registered);
            URI location = uri.getAbsolutePathBuilder().path(view.id()).build();
            return RestResponse.ResponseBuilder.<BaseModelView>created(location).entity(view).build();
        });
    }

    @GET
    @Authorized(Capability.JOBS_READ)
    @Operation(summary = "List base models", description = "By id; `limit` 1 to 100 (default 20), `after` is the "
            + "`next_after` of the previous page.")
    public Uni<ListPage<BaseModelView>> list(@RestQuery String limit, @RestQuery String after) {
        ListBaseModelsRequest request = ListBaseModelsRequest.newBuilder()
                .setPage(PageRequest.newBuilder()
                        .setLimit(DatasetResource.parseLimit(limit))
                        .setAfter(after == null ? "" : after))
                .build();
        return calls.retryingRead(calls.onBehalfOfCaller(training).listBaseModels(request))
                .map(page -> ListPage.of(page.getModelsList().stream().map(BaseModelView::of).toList(),
                        page.getPage().getHasMore(), page.getPage().getNextAfter()));
    }
}
