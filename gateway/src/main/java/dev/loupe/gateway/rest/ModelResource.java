package dev.loupe.gateway.rest;

import java.net.URI;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.UriInfo;

import io.quarkus.grpc.GrpcClient;
import io.smallrye.mutiny.Uni;
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.enums.SchemaType;
import org.eclipse.microprofile.openapi.annotations.media.Content;
import org.eclipse.microprofile.openapi.annotations.media.Schema;
import org.eclipse.microprofile.openapi.annotations.responses.APIResponse;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;
import org.jboss.resteasy.reactive.RestMulti;
import org.jboss.resteasy.reactive.RestPath;
import org.jboss.resteasy.reactive.RestQuery;
import org.jboss.resteasy.reactive.RestResponse;

import dev.loupe.contracts.common.v1.PageRequest;
import dev.loupe.contracts.training.v1.ArtifactChunk;
import dev.loupe.contracts.training.v1.ExportModelVersionRequest;
import dev.loupe.contracts.training.v1.GetBaseModelRequest;
import dev.loupe.contracts.training.v1.GetModelVersionRequest;
import dev.loupe.contracts.training.v1.ListBaseModelsRequest;
import dev.loupe.contracts.training.v1.ListModelVersionsRequest;
import dev.loupe.contracts.training.v1.ListModelVersionsResponse;
import dev.loupe.contracts.training.v1.MutinyTrainingServiceGrpc.MutinyTrainingServiceStub;
import dev.loupe.contracts.training.v1.RegisterBaseModelRequest;
import dev.loupe.contracts.training.v1.ReviewModelVersionRequest;
import dev.loupe.gateway.api.BaseModelView;
import dev.loupe.gateway.api.ListPage;
import dev.loupe.gateway.api.ModelVersionView;
import dev.loupe.gateway.api.ModelView;
import dev.loupe.gateway.api.RegisterModelBody;
import dev.loupe.gateway.api.ReviewBody;
import dev.loupe.gateway.grpc.DownstreamCalls;
import dev.loupe.gateway.grpc.StreamHead;
import dev.loupe.support.error.ProblemException;
import dev.loupe.support.id.Ids;
import dev.loupe.support.security.Authorized;
import dev.loupe.support.security.Capability;

/**
 * The model registry: base models, registered by platform operators from the platform's model store and shared by
 * every tenant's fine-tuning jobs (registration reads and hashes the checkpoint; nothing is downloaded), and the
 * caller tenant's fine-tuned model versions, with their lineage, their review by a compliance officer and their
 * weights. Base models have names for ids; model versions have UUIDs.
 */
@Path("/v1/models")
@Produces(MediaType.APPLICATION_JSON)
@Tag(name = "Models")
public class ModelResource {
    static final String ZIP = "application/zip";

    /** An export streams for as long as the weights take, not the short deadline of other calls. */
    private static final long EXPORT_DEADLINE_MINUTES = 30;

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
    @Operation(summary = "List models", description = "The platform's base models by id, then the tenant's "
            + "fine-tuned model versions, oldest first; `type` tells which (`base` or `fine_tuned`). `limit` 1 to 100 "
            + "(default 20), `after` is the `next_after` of the previous page.")
    public Uni<ListPage<ModelView>> list(@RestQuery String limit, @RestQuery String after) {
        int pageSize = ModelPaging.pageSize(limit);
        ModelPaging.Cursor cursor = ModelPaging.cursor(after);
        MutinyTrainingServiceStub stub = calls.onBehalfOfCaller(training);
        if (cursor.inVersions()) {
            return calls.retryingRead(listVersions(stub, cursor.after(), pageSize)).map(ModelPaging::versions);
        }
        ListBaseModelsRequest request = ListBaseModelsRequest.newBuilder()
                .setPage(PageRequest.newBuilder().setLimit(pageSize).setAfter(cursor.after()))
                .build();
        // Both lists are read again when either was unreachable: the retry wraps the page as a whole.
        return calls.retryingRead(stub.listBaseModels(request)
                .flatMap(bases -> ModelPaging.moreBaseModels(bases)
                        ? Uni.createFrom().item(ModelPaging.baseModels(bases))
                        : listVersions(stub, "", ModelPaging.versionsToFill(pageSize, bases))
                                .map(versions -> ModelPaging.baseModelsThenVersions(pageSize, bases, versions))));
    }

    @GET
    @Path("/{id}")
    @Authorized(Capability.JOBS_READ)
    @Operation(summary = "Get a model", description = "A fine-tuned model version of the tenant when the id is a "
            + "UUID, else a base model.")
    public Uni<ModelView> get(@RestPath String id) {
        MutinyTrainingServiceStub stub = calls.onBehalfOfCaller(training);
        if (Ids.parse(id).isPresent()) {
            return calls.retryingRead(stub.getModelVersion(GetModelVersionRequest.newBuilder()
                    .setModelVersionId(id)
                    .build())).map(ModelVersionView::of);
        }
        return calls.retryingRead(stub.getBaseModel(GetBaseModelRequest.newBuilder().setId(id).build()))
                .map(BaseModelView::of);
    }

    @POST
    @Path("/{id}/approvals")
    @Consumes(MediaType.APPLICATION_JSON)
    @Authorized(Capability.MODELS_REVIEW)
    @Operation(summary = "Approve a model version", description = "A candidate becomes `approved`, with the "
            + "reviewer and the optional `comment` recorded on it and in the audit trail. The compliance officer must "
            + "not be the one who started the job that trained it (four eyes).")
    public Uni<ModelVersionView> approve(@RestPath String id, ReviewBody body) {
        return calls.onBehalfOfCaller(training).approveModelVersion(review(id, body)).map(ModelVersionView::of);
    }

    @POST
    @Path("/{id}/quarantine")
    @Consumes(MediaType.APPLICATION_JSON)
    @Authorized(Capability.MODELS_REVIEW)
    @Operation(summary = "Quarantine a model version", description = "The version becomes `quarantined`: not to be "
            + "deployed. A `comment` saying why is required. The compliance officer must not be the one who started "
            + "the job that trained it (four eyes).")
    public Uni<ModelVersionView> quarantine(@RestPath String id, ReviewBody body) {
        return calls.onBehalfOfCaller(training).quarantineModelVersion(review(id, body)).map(ModelVersionView::of);
    }

    @POST
    @Path("/{id}/retire")
    @Consumes(MediaType.APPLICATION_JSON)
    @Authorized(Capability.MODELS_REVIEW)
    @Operation(summary = "Retire a model version", description = "An approved version becomes `retired`: no longer "
            + "to be deployed, kept in the registry with its weights. `comment` is optional.")
    public Uni<ModelVersionView> retire(@RestPath String id, ReviewBody body) {
        return calls.onBehalfOfCaller(training).retireModelVersion(review(id, body)).map(ModelVersionView::of);
    }

    @GET
    @Path("/{id}/adapter")
    @Produces(ZIP)
    @Authorized(Capability.JOBS_MANAGE)
    @Operation(summary = "Download a model version's weights", description = "The PEFT adapter (or, for a full "
            + "fine-tune, the model folder) decrypted, as a zip archive named after the version. Every download is "
            + "recorded in the audit trail; the answer is never cached.")
    @APIResponse(responseCode = "200", description = "The weights as a zip archive", content = @Content(mediaType = ZIP, schema = @Schema(type = SchemaType.STRING, format = "binary")))
    public RestMulti<byte[]> adapter(@RestPath String id) {
        String versionId = modelVersionId(id);
        MutinyTrainingServiceStub stub = calls.onBehalfOfCaller(training);
        MutinyTrainingServiceStub exportStub = stub.withDeadlineAfter(EXPORT_DEADLINE_MINUTES, TimeUnit.MINUTES);
        // The version is read first, for the file name, and the export waits for its first chunk before the
        // response starts: an unknown version or a refusal of the export still becomes a problem response.
        Uni<Export> export = calls.retryingRead(stub
                .getModelVersion(GetModelVersionRequest.newBuilder().setModelVersionId(versionId).build())
                .flatMap(version -> StreamHead
                        .of(exportStub.exportModelVersion(
                                ExportModelVersionRequest.newBuilder().setModelVersionId(versionId).build()))
                        .map(archive -> new Export(version.getName(), archive))));
        return RestMulti.fromUniResponse(export,
                started -> started.archive().all().map(chunk -> chunk.getData().toByteArray()),
                started -> Map.of(HttpHeaders.CONTENT_TYPE, List.of(ZIP),
                        HttpHeaders.CONTENT_DISPOSITION, List.of(contentDisposition(started.name())),
                        HttpHeaders.CACHE_CONTROL, List.of("no-store"),
                        "X-Content-Type-Options", List.of("nosniff")));
    }

    /** An export whose first chunk has come, with the name of the version it exports. */
    private record Export(String name, StreamHead<ArtifactChunk> archive) {
    }

    private static Uni<ListModelVersionsResponse> listVersions(MutinyTrainingServiceStub stub, String after,
            int limit) {
        return stub.listModelVersions(ListModelVersionsRequest.newBuilder()
                .setPage(PageRequest.newBuilder().setLimit(limit).setAfter(after))
                .build());
    }

    static ReviewModelVersionRequest review(String id, ReviewBody body) {
        return ReviewModelVersionRequest.newBuilder()
                .setModelVersionId(modelVersionId(id))
                .setComment(body == null || body.comment() == null ? "" : body.comment())
                .build();
    }

    /** A model version's id; anything but a UUID names no version (base models cannot be reviewed or exported). */
    static String modelVersionId(String id) {
        if (Ids.parse(id).isEmpty()) {
            throw ProblemException.notFound("model version", id);
        }
        return id;
    }

    /**
     * The attachment's file name: the version's name with its colons (and anything else outside letters, digits,
     * '.', '_' and '-', which could break the header) as underscores.
     */
    static String contentDisposition(String name) {
        return "attachment; filename=\"" + name.replaceAll("[^A-Za-z0-9._-]", "_") + ".zip\"";
    }
}
