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
import io.smallrye.common.annotation.Blocking;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.media.Content;
import org.eclipse.microprofile.openapi.annotations.media.Schema;
import org.eclipse.microprofile.openapi.annotations.parameters.RequestBody;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;
import org.jboss.resteasy.reactive.RestHeader;
import org.jboss.resteasy.reactive.RestPath;
import org.jboss.resteasy.reactive.RestResponse;
import org.jboss.resteasy.reactive.server.multipart.MultipartFormDataInput;

import dev.loupe.contracts.common.v1.PageRequest;
import dev.loupe.contracts.dataset.v1.DatasetServiceGrpc;
import dev.loupe.contracts.dataset.v1.GetImportRequest;
import dev.loupe.contracts.dataset.v1.ImportChunk;
import dev.loupe.contracts.dataset.v1.ImportStart;
import dev.loupe.contracts.dataset.v1.ListImportRejectionsRequest;
import dev.loupe.contracts.dataset.v1.MutinyDatasetServiceGrpc.MutinyDatasetServiceStub;
import dev.loupe.gateway.api.ImportForm;
import dev.loupe.gateway.api.ImportView;
import dev.loupe.gateway.config.GatewayConfig;
import dev.loupe.gateway.grpc.DownstreamCalls;
import dev.loupe.gateway.grpc.FlowControlledUpload;
import dev.loupe.gateway.grpc.ImageArchiveLimits;
import dev.loupe.gateway.grpc.ImportChunks;
import dev.loupe.support.security.Authorized;
import dev.loupe.support.security.Capability;

/**
 * Imports of records (and their images) into a dataset of the caller's tenant. The upload lands on disk; the
 * gateway checks its form, then streams it to the dataset-service, which validates every line and image.
 */
@Path("/v1/datasets/{id}/imports")
@Produces(MediaType.APPLICATION_JSON)
@Tag(name = "Datasets")
public class ImportResource {
    /** How many rejected lines an import's report lists. */
    static final int REPORT_LINES = 100;

    private final MutinyDatasetServiceStub datasets;
    private final DownstreamCalls calls;
    private final GatewayConfig config;

    public ImportResource(@GrpcClient("dataset") MutinyDatasetServiceStub datasets, DownstreamCalls calls,
            GatewayConfig config) {
        this.datasets = datasets;
        this.calls = calls;
        this.config = config;
    }

    // Blocking: the images archive is opened and checked here, before the call starts.
    @POST
    @Consumes(MediaType.MULTIPART_FORM_DATA)
    @Blocking
    @Authorized(Capability.DATASETS_MANAGE)
    @Operation(summary = "Import records", description = "A multipart/form-data upload: `file` (the records file), "
            + "`format` (`loupe`, `openai` or `llava`), `mode` (`accept_valid`, the default, or `all_or_nothing`) "
            + "and `images` (optional: a zip of the image files the records name by path). The answer comes when "
            + "every line has been validated: 201 with the import's counts; GET the Location for its rejected "
            + "lines. A retry with the same Idempotency-Key returns the first import. A bad form part, or an "
            + "images archive over its limits, is a 400 naming the part.")
    public Uni<RestResponse<ImportView>> create(@RestPath String id,
            @RequestBody(content = @Content(mediaType = MediaType.MULTIPART_FORM_DATA, schema = @Schema(implementation = ImportForm.class))) MultipartFormDataInput form,
            @RestHeader("Idempotency-Key") String idempotencyKey, UriInfo uri) {
        ImportUpload upload = ImportUpload.parse(form.getValues());
        ImageArchiveLimits limits = ImageArchiveLimits.of(config.imports());
        if (upload.images() != null) {
            ImportChunks.checkArchive(upload.images(), limits);
        }
        ImportStart start = ImportStart.newBuilder()
                .setDatasetId(id)
                .setFormat(upload.format())
                .setMode(upload.mode())
                .setIdempotencyKey(idempotencyKey == null ? "" : idempotencyKey)
                .setFileName(upload.recordsFileName() == null ? "" : upload.recordsFileName())
                .build();
        Multi<ImportChunk> chunks = ImportChunks.stream(start, upload.records(), upload.images(), limits,
                Infrastructure.getDefaultWorkerPool());
        DatasetServiceGrpc.DatasetServiceStub stub = calls
                .importOnBehalfOfCaller(DatasetServiceGrpc.newStub(datasets.getChannel()));
        return FlowControlledUpload.send(chunks, stub::importRecords).map(imported -> {
            ImportView view = ImportView.of(imported);
            URI location = uri.getAbsolutePathBuilder().path(view.id()).build();
            return RestResponse.ResponseBuilder.<ImportView>created(location).entity(view).build();
        });
    }

    @GET
    @Path("/{importId}")
    @Authorized(Capability.DATASETS_READ)
    @Operation(summary = "Get an import and its report", description = "The import's counts and its first "
            + REPORT_LINES + " rejected lines in line order; `has_more_rejections` says whether there are more.")
    public Uni<ImportView> get(@RestPath String id, @RestPath String importId) {
        MutinyDatasetServiceStub stub = calls.onBehalfOfCaller(datasets);
        var imported = calls.retryingRead(
                stub.getImport(GetImportRequest.newBuilder().setDatasetId(id).setImportId(importId).build()));
        var rejections = calls.retryingRead(stub.listImportRejections(ListImportRejectionsRequest.newBuilder()
                .setDatasetId(id)
                .setImportId(importId)
                .setPage(PageRequest.newBuilder().setLimit(REPORT_LINES))
                .build()));
        return Uni.combine()
                .all()
                .unis(imported, rejections)
                .asTuple()
                .map(both -> ImportView.of(both.getItem1(), ImportView.ReportView.of(both.getItem2())));
    }
}
