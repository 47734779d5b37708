package dev.loupe.dataset.grpc;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.function.Supplier;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.ByteString;
import io.quarkus.grpc.GrpcService;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;

import dev.loupe.contracts.common.v1.Actor;
import dev.loupe.contracts.common.v1.PageInfo;
import dev.loupe.contracts.dataset.v1.ChatMessage;
import dev.loupe.contracts.dataset.v1.CreateDatasetRequest;
import dev.loupe.contracts.dataset.v1.CreateDatasetResponse;
import dev.loupe.contracts.dataset.v1.CreateVersionRequest;
import dev.loupe.contracts.dataset.v1.DatasetLegalHold;
import dev.loupe.contracts.dataset.v1.DatasetStats;
import dev.loupe.contracts.dataset.v1.DatasetVersion;
import dev.loupe.contracts.dataset.v1.DeleteDatasetRequest;
import dev.loupe.contracts.dataset.v1.DeleteDatasetResponse;
import dev.loupe.contracts.dataset.v1.DownloadImageRequest;
import dev.loupe.contracts.dataset.v1.EraseRecordsRequest;
import dev.loupe.contracts.dataset.v1.EraseRecordsResponse;
import dev.loupe.contracts.dataset.v1.GetDatasetRequest;
import dev.loupe.contracts.dataset.v1.GetDatasetStatsRequest;
import dev.loupe.contracts.dataset.v1.GetImportRequest;
import dev.loupe.contracts.dataset.v1.GetRecordRequest;
import dev.loupe.contracts.dataset.v1.GetVersionRequest;
import dev.loupe.contracts.dataset.v1.Histogram;
import dev.loupe.contracts.dataset.v1.ImageChunk;
import dev.loupe.contracts.dataset.v1.ImageRef;
import dev.loupe.contracts.dataset.v1.Import;
import dev.loupe.contracts.dataset.v1.ImportChunk;
import dev.loupe.contracts.dataset.v1.ImportFormat;
import dev.loupe.contracts.dataset.v1.ImportMode;
import dev.loupe.contracts.dataset.v1.ImportRejection;
import dev.loupe.contracts.dataset.v1.ImportState;
import dev.loupe.contracts.dataset.v1.ListDatasetsRequest;
import dev.loupe.contracts.dataset.v1.ListDatasetsResponse;
import dev.loupe.contracts.dataset.v1.ListImportRejectionsRequest;
import dev.loupe.contracts.dataset.v1.ListImportRejectionsResponse;
import dev.loupe.contracts.dataset.v1.ListRecordsRequest;
import dev.loupe.contracts.dataset.v1.ListRecordsResponse;
import dev.loupe.contracts.dataset.v1.ListVersionsRequest;
import dev.loupe.contracts.dataset.v1.ListVersionsResponse;
import dev.loupe.contracts.dataset.v1.MutinyDatasetServiceGrpc;
import dev.loupe.contracts.dataset.v1.PlaceLegalHoldRequest;
import dev.loupe.contracts.dataset.v1.Record;
import dev.loupe.contracts.dataset.v1.ReleaseLegalHoldRequest;
import dev.loupe.contracts.dataset.v1.RotateDatasetKeyRequest;
import dev.loupe.contracts.dataset.v1.RotateDatasetKeyResponse;
import dev.loupe.contracts.dataset.v1.SetRetentionPolicyRequest;
import dev.loupe.dataset.config.DatasetConfig;
import dev.loupe.dataset.model.Dataset;
import dev.loupe.dataset.service.DatasetService;
import dev.loupe.dataset.service.ImportService;
import dev.loupe.dataset.service.KeyRotationService;
import dev.loupe.dataset.service.RecordService;
import dev.loupe.dataset.service.RetentionService;
import dev.loupe.dataset.service.StatsService;
import dev.loupe.dataset.service.VersionService;
import dev.loupe.support.error.ProblemException;
import dev.loupe.support.error.ProblemType;
import dev.loupe.support.grpc.ProtoTime;
import dev.loupe.support.id.Ids;
import dev.loupe.support.security.Authorized;
import dev.loupe.support.security.Caller;
import dev.loupe.support.security.Capability;

/**
 * The dataset-service's gRPC API (the example stream for training is {@link ExampleGrpcService}). Work that blocks
 * (the KMS, the blob store) runs on worker threads.
 */
@GrpcService
public class DatasetGrpcService extends MutinyDatasetServiceGrpc.DatasetServiceImplBase {
    private final DatasetService datasets;
    private final ImportService imports;
    private final RecordService records;
    private final VersionService versions;
    private final RetentionService retention;
    private final KeyRotationService rotation;
    private final StatsService stats;
    private final DatasetConfig config;

    public DatasetGrpcService(DatasetService datasets, ImportService imports, RecordService records,
            VersionService versions, RetentionService retention, KeyRotationService rotation, StatsService stats,
            DatasetConfig config) {
        this.versions = versions;
        this.retention = retention;
        this.rotation = rotation;
        this.stats = stats;
        this.datasets = datasets;
        this.imports = imports;
        this.records = records;
        this.config = config;
    }

    @Override
    @Authorized(Capability.DATASETS_MANAGE)
    public Uni<CreateDatasetResponse> createDataset(CreateDatasetRequest request) {
        Caller caller = Caller.current();
        return datasets.create(caller, request.getName(), request.getDescription(), request.getIdempotencyKey())
                .map(created -> CreateDatasetResponse.newBuilder()
                        .setDataset(toProto(created.dataset()))
                        .setReplayed(created.replayed())
                        .build());
    }

    @Override
    @Authorized(Capability.DATASETS_READ)
    public Uni<dev.loupe.contracts.dataset.v1.Dataset> getDataset(GetDatasetRequest request) {
        Caller caller = Caller.current();
        return datasets.get(caller, request.getDatasetId()).map(DatasetGrpcService::toProto);
    }

    @Override
    @Authorized(Capability.DATASETS_READ)
    public Uni<ListDatasetsResponse> listDatasets(ListDatasetsRequest request) {
        Caller caller = Caller.current();
        return datasets.list(caller, request.getPage().getLimit(), request.getPage().getAfter()).map(page -> {
            ListDatasetsResponse.Builder response = ListDatasetsResponse.newBuilder();
            page.datasets().forEach(dataset -> response.addDatasets(toProto(dataset)));
            PageInfo.Builder info = PageInfo.newBuilder().setHasMore(page.hasMore());
            if (page.hasMore()) {
                info.setNextAfter(page.datasets().get(page.datasets().size() - 1).id.toString());
            }
            return response.setPage(info).build();
        });
    }

    @Override
    @Authorized(Capability.DATASETS_MANAGE)
    public Uni<DeleteDatasetResponse> deleteDataset(DeleteDatasetRequest request) {
        Caller caller = Caller.current();
        return blocking(() -> {
            retention.delete(caller, request.getDatasetId());
            return DeleteDatasetResponse.getDefaultInstance();
        });
    }

    @Override
    @Authorized(Capability.RETENTION_MANAGE)
    public Uni<dev.loupe.contracts.dataset.v1.Dataset> setRetentionPolicy(SetRetentionPolicyRequest request) {
        Caller caller = Caller.current();
        return retention.setRetention(caller, request.getDatasetId(), request.getMaxAgeDays())
                .chain(() -> datasets.get(caller, request.getDatasetId()))
                .map(DatasetGrpcService::toProto);
    }

    @Override
    @Authorized(Capability.RETENTION_MANAGE)
    public Uni<dev.loupe.contracts.dataset.v1.Dataset> placeLegalHold(PlaceLegalHoldRequest request) {
        Caller caller = Caller.current();
        return retention.placeLegalHold(caller, request.getDatasetId(), request.getReason())
                .chain(() -> datasets.get(caller, request.getDatasetId()))
                .map(DatasetGrpcService::toProto);
    }

    @Override
    @Authorized(Capability.RETENTION_MANAGE)
    public Uni<dev.loupe.contracts.dataset.v1.Dataset> releaseLegalHold(ReleaseLegalHoldRequest request) {
        Caller caller = Caller.current();
        return retention.releaseLegalHold(caller, request.getDatasetId())
                .chain(() -> datasets.get(caller, request.getDatasetId()))
                .map(DatasetGrpcService::toProto);
    }

    @Override
    @Authorized(Capability.DATASETS_MANAGE)
    public Uni<RotateDatasetKeyResponse> rotateDatasetKey(RotateDatasetKeyRequest request) {
        Caller caller = Caller.current();
        return blocking(() -> {
            KeyRotationService.Rotated rotated = rotation.rotate(caller, request.getDatasetId());
            return RotateDatasetKeyResponse.newBuilder()
                    .setKeyVersion(rotated.keyVersion())
                    .setDataKeysRewrapped(rotated.rewrapped())
                    .setOlderVersionsDeleted(rotated.olderVersionsDeleted())
                    .build();
        });
    }

    @Override
    @Authorized(Capability.ERASURE_EXECUTE)
    public Uni<EraseRecordsResponse> eraseRecords(EraseRecordsRequest request) {
        Caller caller = Caller.current();
        return blocking(() -> {
            RetentionService.Erased erased = retention.eraseRecords(caller, request.getDatasetId(),
                    request.getRecordIdsList(), request.getErasureRequestId());
            return EraseRecordsResponse.newBuilder()
                    .setRecordsErased(erased.records())
                    .setImagesShredded(erased.images())
                    .addAllRecordHashes(erased.recordHashes())
                    .build();
        });
    }

    @Override
    @Authorized(Capability.DATASETS_READ)
    public Uni<DatasetStats> getDatasetStats(GetDatasetStatsRequest request) {
        Caller caller = Caller.current();
        return blocking(() -> toProto(stats.stats(caller.requireTenant(), request.getDatasetId(),
                request.getVersionId())));
    }

    /** Runs blocking work (KMS, blob store, waits on the database) on a worker thread. */
    private static <T> Uni<T> blocking(Supplier<T> work) {
        return Uni.createFrom().item(work).runSubscriptionOn(Infrastructure.getDefaultWorkerPool());
    }

    static DatasetStats toProto(StatsService.Stats stats) {
        return DatasetStats.newBuilder()
                .setRecordCount(stats.recordCount())
                .setImageCount(stats.imageCount())
                .setImagesPerRecord(toProto(stats.imagesPerRecord()))
                .setImageWidth(toProto(stats.imageWidth()))
                .setImageHeight(toProto(stats.imageHeight()))
                .setImageAspectRatio(toProto(stats.imageAspectRatio()))
                .setImageBytes(toProto(stats.imageBytes()))
                .setEstimatedTokens(toProto(stats.estimatedTokens()))
                .setTextCharacters(toProto(stats.textCharacters()))
                .setTurnsPerRecord(toProto(stats.turnsPerRecord()))
                .putAllMediaTypes(stats.mediaTypes())
                .putAllAnnotationTypes(stats.annotationTypes())
                .putAllBoxLabels(stats.boxLabels())
                .setDuplicatesSkipped(stats.duplicatesSkipped())
                .setLinesRejected(stats.linesRejected())
                .putAllRejectedLinesByCode(stats.rejectedLinesByCode())
                .build();
    }

    private static Histogram toProto(StatsService.Histogram histogram) {
        Histogram.Builder built = Histogram.newBuilder();
        for (double bound : histogram.upperBounds()) {
            built.addBucketUpperBounds(bound);
        }
        for (long count : histogram.counts()) {
            built.addCounts(count);
        }
        return built.build();
    }

    @Override
    @Authorized(Capability.DATASETS_MANAGE)
    public Uni<Import> importRecords(Multi<ImportChunk> request) {
        Caller caller = Caller.current();
        return imports.importStream(caller, request).map(DatasetGrpcService::toProto);
    }

    @Override
    @Authorized(Capability.DATASETS_READ)
    public Uni<Import> getImport(GetImportRequest request) {
        Caller caller = Caller.current();
        String tenant = caller.requireTenant();
        UUID importId = Ids.parse(request.getImportId())
                .orElseThrow(() -> ProblemException.notFound("import", request.getImportId()));
        return records.requireDataset(tenant, request.getDatasetId())
                .chain(datasetId -> imports.findAsync(tenant, datasetId, importId))
                .map(found -> {
                    if (found == null) {
                        throw ProblemException.notFound("import", request.getImportId());
                    }
                    return toProto(found);
                });
    }

    @Override
    @Authorized(Capability.DATASETS_READ)
    public Uni<ListImportRejectionsResponse> listImportRejections(ListImportRejectionsRequest request) {
        Caller caller = Caller.current();
        int limit = pageLimit(request.getPage().getLimit());
        int after = afterOrdinal(request.getPage().getAfter());
        return getImport(GetImportRequest.newBuilder()
                .setDatasetId(request.getDatasetId())
                .setImportId(request.getImportId())
                .build())
                .chain(found -> imports.rejections(UUID.fromString(found.getId()), after, limit + 1))
                .map(rows -> {
                    boolean more = rows.size() > limit;
                    List<ImportService.RejectionRow> page = more ? rows.subList(0, limit) : rows;
                    ListImportRejectionsResponse.Builder response = ListImportRejectionsResponse.newBuilder();
                    page.forEach(row -> response.addRejections(ImportRejection.newBuilder()
                            .setLine(row.line())
                            .setPointer(row.pointer())
                            .setCode(row.code())
                            .setMessage(row.message())));
                    PageInfo.Builder info = PageInfo.newBuilder().setHasMore(more);
                    if (more) {
                        info.setNextAfter(Integer.toString(page.get(page.size() - 1).ordinal()));
                    }
                    return response.setPage(info).build();
                });
    }

    @Override
    @Authorized(Capability.DATASETS_READ)
    public Uni<ListRecordsResponse> listRecords(ListRecordsRequest request) {
        Caller caller = Caller.current();
        int limit = pageLimit(request.getPage().getLimit());
        String tenant = caller.requireTenant();
        String after = request.getPage().getAfter();
        Uni<RecordService.Page> page = request.getVersionId().isEmpty()
                ? records.list(tenant, request.getDatasetId(), after, limit)
                : records.listVersion(tenant, request.getDatasetId(), request.getVersionId(), after, limit);
        return page.map(found -> {
            ListRecordsResponse.Builder response = ListRecordsResponse.newBuilder();
            found.records().forEach(record -> response.addRecords(toProto(record)));
            return response.setPage(PageInfo.newBuilder()
                    .setHasMore(!found.nextAfter().isEmpty())
                    .setNextAfter(found.nextAfter()))
                    .build();
        });
    }

    @Override
    @Authorized(Capability.DATASETS_READ)
    public Uni<Record> getRecord(GetRecordRequest request) {
        Caller caller = Caller.current();
        return records.get(caller.requireTenant(), request.getDatasetId(), request.getRecordId())
                .map(DatasetGrpcService::toProto);
    }

    @Override
    @Authorized(Capability.IMAGES_VIEW)
    public Multi<ImageChunk> downloadImage(DownloadImageRequest request) {
        Caller caller = Caller.current();
        return records.image(caller, request.getDatasetId(), request.getRecordId(), request.getImageIndex())
                .onItem().transformToMulti(image -> {
                    List<ImageChunk> chunks = new ArrayList<>();
                    for (int offset = 0; offset == 0 || offset < image.bytes().length; offset += IMAGE_CHUNK) {
                        ImageChunk.Builder chunk = ImageChunk.newBuilder().setData(ByteString.copyFrom(image.bytes(),
                                offset, Math.min(IMAGE_CHUNK, image.bytes().length - offset)));
                        if (offset == 0) {
                            chunk.setMediaType(image.mediaType());
                        }
                        chunks.add(chunk.build());
                    }
                    return Multi.createFrom().iterable(chunks);
                });
    }

    @Override
    @Authorized(Capability.DATASETS_MANAGE)
    public Uni<DatasetVersion> createVersion(CreateVersionRequest request) {
        Caller caller = Caller.current();
        return versions.create(caller, request.getDatasetId(), request.getValidationFraction(),
                request.getSplitSeed(), request.getDescription(), request.getIdempotencyKey())
                .map(DatasetGrpcService::toProto);
    }

    @Override
    @Authorized(Capability.DATASETS_READ)
    public Uni<DatasetVersion> getVersion(GetVersionRequest request) {
        Caller caller = Caller.current();
        return versions.get(caller.requireTenant(), request.getDatasetId(), request.getVersionId())
                .map(DatasetGrpcService::toProto);
    }

    @Override
    @Authorized(Capability.DATASETS_READ)
    public Uni<ListVersionsResponse> listVersions(ListVersionsRequest request) {
        Caller caller = Caller.current();
        int limit = pageLimit(request.getPage().getLimit());
        int after = request.getPage().getAfter().isEmpty() ? 0 : afterOrdinal(request.getPage().getAfter());
        return versions.list(caller.requireTenant(), request.getDatasetId(), after, limit).map(page -> {
            ListVersionsResponse.Builder response = ListVersionsResponse.newBuilder();
            page.versions().forEach(version -> response.addVersions(toProto(version)));
            PageInfo.Builder info = PageInfo.newBuilder().setHasMore(page.hasMore());
            if (page.hasMore()) {
                info.setNextAfter(Integer.toString(page.versions().get(page.versions().size() - 1).number()));
            }
            return response.setPage(info).build();
        });
    }

    static DatasetVersion toProto(VersionService.VersionRow version) {
        return DatasetVersion.newBuilder()
                .setId(version.id().toString())
                .setDatasetId(version.datasetId().toString())
                .setNumber(version.number())
                .setRecordCount(version.recordCount())
                .setTrainCount(version.trainCount())
                .setValidationCount(version.validationCount())
                .setValidationFraction(version.validationFraction())
                .setSplitSeed(version.splitSeed())
                .setErasedRecordCount(version.erasedRecordCount())
                .setManifestHash(version.manifestHash())
                .setDescription(version.description())
                .setCreatedAt(ProtoTime.of(version.createdAt().toInstant()))
                .setCreatedBy(Actor.newBuilder()
                        .setUserId(version.createdByUserId())
                        .setUsername(version.createdByUsername()))
                .build();
    }

    /** Images go out in pieces this large, well under gRPC's message limit. */
    static final int IMAGE_CHUNK = 64 * 1024;

    private int pageLimit(int limit) {
        int size = limit == 0 ? config.pagination().defaultLimit() : limit;
        if (size < 1 || size > config.pagination().maxLimit()) {
            throw ProblemException.invalid("limit", "limit must be between 1 and " + config.pagination().maxLimit());
        }
        return size;
    }

    private static int afterOrdinal(String after) {
        if (after.isEmpty()) {
            return -1;
        }
        try {
            return Integer.parseInt(after);
        } catch (NumberFormatException e) {
            throw ProblemException.invalid("after", "after must be the next_after of the previous page");
        }
    }

    static Import toProto(ImportService.ImportRow row) {
        Import.Builder built = Import.newBuilder()
                .setId(row.id().toString())
                .setDatasetId(row.datasetId().toString())
                .setFormat(switch (row.format()) {
                    case "loupe" -> ImportFormat.IMPORT_FORMAT_LOUPE;
                    case "openai" -> ImportFormat.IMPORT_FORMAT_OPENAI;
                    default -> ImportFormat.IMPORT_FORMAT_LLAVA;
                })
                .setMode(row.mode().equals("all_or_nothing")
                        ? ImportMode.IMPORT_MODE_ALL_OR_NOTHING
                        : ImportMode.IMPORT_MODE_ACCEPT_VALID)
                .setState(switch (row.state()) {
                    case "succeeded" -> ImportState.IMPORT_STATE_SUCCEEDED;
                    case "failed" -> ImportState.IMPORT_STATE_FAILED;
                    default -> ImportState.IMPORT_STATE_RUNNING;
                })
                .setLinesRead(row.linesRead())
                .setRecordsAccepted(row.recordsAccepted())
                .setLinesRejected(row.linesRejected())
                .setDuplicatesSkipped(row.duplicatesSkipped())
                .setFailureReason(row.failureReason())
                .setCreatedAt(ProtoTime.of(row.createdAt()));
        if (row.finishedAt() != null) {
            built.setFinishedAt(ProtoTime.of(row.finishedAt()));
        }
        return built.build();
    }

    static Record toProto(RecordService.StoredRecord record) {
        Record.Builder built = Record.newBuilder()
                .setId(record.id().toString())
                .setDatasetId(record.datasetId().toString())
                .setClientId(record.clientId())
                .setAnnotationsJson(record.annotationsJson())
                .setRecordHash(record.recordHash())
                .setEstimatedTokens(record.estimatedTokens())
                .setImportId(record.importId().toString())
                .setCreatedAt(ProtoTime.of(record.createdAt()));
        for (RecordService.StoredImage image : record.images()) {
            built.addImages(ImageRef.newBuilder()
                    .setIndex(image.index())
                    .setMediaType(image.mediaType())
                    .setWidth(image.width())
                    .setHeight(image.height())
                    .setSizeBytes(image.sizeBytes())
                    .setContentHash(image.contentHash()));
        }
        try {
            for (JsonNode message : JSON.readTree(record.messagesJson())) {
                built.addMessages(ChatMessage.newBuilder()
                        .setRole(message.path("role").asText())
                        .setContent(message.path("content").asText()));
            }
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("stored messages are JSON written by the import", e);
        }
        return built.build();
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    static dev.loupe.contracts.dataset.v1.Dataset toProto(Dataset dataset) {
        var built = dev.loupe.contracts.dataset.v1.Dataset.newBuilder()
                .setId(dataset.id.toString())
                .setName(dataset.name)
                .setDescription(dataset.description)
                .setRecordCount(dataset.recordCount)
                .setCreatedAt(ProtoTime.of(dataset.createdAt))
                .setUpdatedAt(ProtoTime.of(dataset.updatedAt))
                .setCreatedBy(
                        Actor.newBuilder().setUserId(dataset.createdByUserId).setUsername(dataset.createdByUsername));
        if (dataset.retentionMaxAgeDays != null) {
            built.setRetentionMaxAgeDays(dataset.retentionMaxAgeDays)
                    .setExpiresAt(ProtoTime.of(dataset.createdAt.plus(Duration.ofDays(dataset.retentionMaxAgeDays))));
        }
        if (dataset.legalHoldReason != null) {
            built.setLegalHold(DatasetLegalHold.newBuilder()
                    .setReason(dataset.legalHoldReason)
                    .setPlacedAt(ProtoTime.of(dataset.legalHoldPlacedAt))
                    .setPlacedBy(Actor.newBuilder()
                            .setUserId(dataset.legalHoldPlacedByUserId)
                            .setUsername(dataset.legalHoldPlacedByUsername)));
        }
        return built.build();
    }
}
