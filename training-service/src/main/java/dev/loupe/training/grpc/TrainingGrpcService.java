package dev.loupe.training.grpc;

import java.io.IOException;
import java.io.InputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicReference;

import com.google.protobuf.ByteString;
import io.quarkus.grpc.GrpcService;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;

import dev.loupe.contracts.common.v1.Actor;
import dev.loupe.contracts.common.v1.PageInfo;
import dev.loupe.contracts.training.v1.ArtifactChunk;
import dev.loupe.contracts.training.v1.BaseModelFile;
import dev.loupe.contracts.training.v1.CreateJobRequest;
import dev.loupe.contracts.training.v1.CreateJobResponse;
import dev.loupe.contracts.training.v1.ExportModelVersionRequest;
import dev.loupe.contracts.training.v1.FindModelsTrainedOnRequest;
import dev.loupe.contracts.training.v1.FindModelsTrainedOnResponse;
import dev.loupe.contracts.training.v1.FineTuningJob;
import dev.loupe.contracts.training.v1.GetBaseModelRequest;
import dev.loupe.contracts.training.v1.GetJobRequest;
import dev.loupe.contracts.training.v1.GetModelVersionRequest;
import dev.loupe.contracts.training.v1.GetModelVersionStatesRequest;
import dev.loupe.contracts.training.v1.GetModelVersionStatesResponse;
import dev.loupe.contracts.training.v1.JobActionRequest;
import dev.loupe.contracts.training.v1.JobState;
import dev.loupe.contracts.training.v1.ListBaseModelsRequest;
import dev.loupe.contracts.training.v1.ListBaseModelsResponse;
import dev.loupe.contracts.training.v1.ListCheckpointsRequest;
import dev.loupe.contracts.training.v1.ListCheckpointsResponse;
import dev.loupe.contracts.training.v1.ListJobEventsRequest;
import dev.loupe.contracts.training.v1.ListJobEventsResponse;
import dev.loupe.contracts.training.v1.ListJobsRequest;
import dev.loupe.contracts.training.v1.ListJobsResponse;
import dev.loupe.contracts.training.v1.ListModelVersionsRequest;
import dev.loupe.contracts.training.v1.ListModelVersionsResponse;
import dev.loupe.contracts.training.v1.LoadModelVersionForServingRequest;
import dev.loupe.contracts.training.v1.ModelVersion;
import dev.loupe.contracts.training.v1.MutinyTrainingServiceGrpc;
import dev.loupe.contracts.training.v1.RegisterBaseModelRequest;
import dev.loupe.contracts.training.v1.ReviewModelVersionRequest;
import dev.loupe.contracts.training.v1.ServingArtifact;
import dev.loupe.contracts.training.v1.ServingArtifactHeader;
import dev.loupe.contracts.training.v1.WatchJobEventsRequest;
import dev.loupe.support.error.ProblemException;
import dev.loupe.support.grpc.ProtoTime;
import dev.loupe.support.security.Authorized;
import dev.loupe.support.security.Caller;
import dev.loupe.support.security.Capability;
import dev.loupe.training.job.JobService;
import dev.loupe.training.model.BaseModel;
import dev.loupe.training.model.JobStatus;
import dev.loupe.training.registry.ModelVersionService;
import dev.loupe.training.service.BaseModelService;

/**
 * The training-service's gRPC API (contract {@code loupe.training.v1.TrainingService}): base models (platform
 * operators register them, {@link Capability#PLATFORM_OPERATE}; whoever may read a tenant's jobs lists them) and
 * fine-tuning jobs ({@link Capability#JOBS_MANAGE} to create and control them, {@link Capability#JOBS_READ} to
 * read them, their events and checkpoints) and model versions (read with {@link Capability#JOBS_READ}, reviewed
 * with {@link Capability#MODELS_REVIEW}, exported with {@link Capability#JOBS_MANAGE}; their lineage searched by
 * Loupe's services with {@link Capability#LINEAGE_READ}).
 */
@GrpcService
public class TrainingGrpcService extends MutinyTrainingServiceGrpc.TrainingServiceImplBase {
    private static final int EXPORT_PIPE_BYTES = 1 << 20;
    private static final int EXPORT_CHUNK_BYTES = 64 << 10;

    private final BaseModelService baseModels;
    private final JobService jobs;
    private final ModelVersionService versions;

    public TrainingGrpcService(BaseModelService baseModels, JobService jobs, ModelVersionService versions) {
        this.baseModels = baseModels;
        this.jobs = jobs;
        this.versions = versions;
    }

    @Override
    @Authorized(Capability.PLATFORM_OPERATE)
    public Uni<dev.loupe.contracts.training.v1.BaseModel> registerBaseModel(RegisterBaseModelRequest request) {
        Caller caller = Caller.current();
        return baseModels.register(caller, request.getId(), request.getDisplayName(), request.getArchitecture(),
                request.getStorageUri()).map(TrainingGrpcService::toProto);
    }

    @Override
    @Authorized(Capability.JOBS_READ)
    public Uni<ListBaseModelsResponse> listBaseModels(ListBaseModelsRequest request) {
        return baseModels.list(request.getPage().getLimit(), request.getPage().getAfter())
                .map(page -> ListBaseModelsResponse.newBuilder()
                        .addAllModels(page.items().stream().map(TrainingGrpcService::toProto).toList())
                        .setPage(pageInfo(page.nextAfter()))
                        .build());
    }

    @Override
    @Authorized(Capability.JOBS_MANAGE)
    public Uni<CreateJobResponse> createJob(CreateJobRequest request) {
        Caller caller = Caller.current();
        return Uni.createFrom()
                .deferred(() -> jobs.create(caller, request))
                .map(created -> CreateJobResponse.newBuilder()
                        .setJob(JobProtos.job(created.job()))
                        .setReplayed(created.replayed())
                        .build());
    }

    @Override
    @Authorized(Capability.JOBS_READ)
    public Uni<FineTuningJob> getJob(GetJobRequest request) {
        Caller caller = Caller.current();
        return jobs.get(caller, request.getJobId()).map(JobProtos::job);
    }

    @Override
    @Authorized(Capability.JOBS_READ)
    public Uni<ListJobsResponse> listJobs(ListJobsRequest request) {
        Caller caller = Caller.current();
        List<JobStatus> states = new ArrayList<>();
        for (JobState state : request.getStatesList()) {
            if (state == JobState.JOB_STATE_UNSPECIFIED || state == JobState.UNRECOGNIZED) {
                throw ProblemException.invalid("status", "status must be a job state");
            }
            states.add(JobStatus.ofProto(state));
        }
        return Uni.createFrom()
                .deferred(() -> jobs.list(caller, states, request.getPage().getLimit(), request.getPage().getAfter()))
                .map(page -> ListJobsResponse.newBuilder()
                        .addAllJobs(page.items().stream().map(JobProtos::job).toList())
                        .setPage(pageInfo(page.nextAfter()))
                        .build());
    }

    @Override
    @Authorized(Capability.JOBS_MANAGE)
    public Uni<FineTuningJob> cancelJob(JobActionRequest request) {
        Caller caller = Caller.current();
        return jobs.cancel(caller, request.getJobId()).map(JobProtos::job);
    }

    @Override
    @Authorized(Capability.JOBS_MANAGE)
    public Uni<FineTuningJob> pauseJob(JobActionRequest request) {
        Caller caller = Caller.current();
        return jobs.pause(caller, request.getJobId()).map(JobProtos::job);
    }

    @Override
    @Authorized(Capability.JOBS_MANAGE)
    public Uni<FineTuningJob> resumeJob(JobActionRequest request) {
        Caller caller = Caller.current();
        return jobs.resume(caller, request.getJobId()).map(JobProtos::job);
    }

    @Override
    @Authorized(Capability.JOBS_READ)
    public Uni<ListJobEventsResponse> listJobEvents(ListJobEventsRequest request) {
        Caller caller = Caller.current();
        return Uni.createFrom()
                .deferred(() -> jobs.events(caller, request.getJobId(), request.getPage().getLimit(),
                        request.getPage().getAfter()))
                .map(page -> ListJobEventsResponse.newBuilder()
                        .addAllEvents(page.items().stream().map(JobProtos::event).toList())
                        .setPage(pageInfo(page.nextAfter()))
                        .build());
    }

    @Override
    @Authorized(Capability.JOBS_READ)
    public Multi<dev.loupe.contracts.training.v1.JobEvent> watchJobEvents(WatchJobEventsRequest request) {
        Caller caller = Caller.current();
        return jobs.watch(caller, request.getJobId(), Math.max(0, request.getAfterSequence())).map(JobProtos::event);
    }

    @Override
    @Authorized(Capability.JOBS_READ)
    public Uni<ListCheckpointsResponse> listCheckpoints(ListCheckpointsRequest request) {
        Caller caller = Caller.current();
        return Uni.createFrom()
                .deferred(() -> jobs.checkpoints(caller, request.getJobId(), request.getPage().getLimit(),
                        request.getPage().getAfter()))
                .map(page -> ListCheckpointsResponse.newBuilder()
                        .addAllCheckpoints(page.items().stream().map(JobProtos::checkpoint).toList())
                        .setPage(pageInfo(page.nextAfter()))
                        .build());
    }

    @Override
    @Authorized(Capability.JOBS_READ)
    public Uni<dev.loupe.contracts.training.v1.BaseModel> getBaseModel(GetBaseModelRequest request) {
        return baseModels.get(request.getId()).map(TrainingGrpcService::toProto);
    }

    @Override
    @Authorized(Capability.JOBS_READ)
    public Uni<ModelVersion> getModelVersion(GetModelVersionRequest request) {
        Caller caller = Caller.current();
        return versions.get(caller, request.getModelVersionId()).map(ModelVersionProtos::version);
    }

    @Override
    @Authorized(Capability.JOBS_READ)
    public Uni<ListModelVersionsResponse> listModelVersions(ListModelVersionsRequest request) {
        Caller caller = Caller.current();
        return Uni.createFrom()
                .deferred(() -> versions.list(caller, request.getPage().getLimit(), request.getPage().getAfter()))
                .map(page -> ListModelVersionsResponse.newBuilder()
                        .addAllModelVersions(page.items().stream().map(ModelVersionProtos::version).toList())
                        .setPage(pageInfo(page.nextAfter()))
                        .build());
    }

    @Override
    @Authorized(Capability.MODELS_REVIEW)
    public Uni<ModelVersion> approveModelVersion(ReviewModelVersionRequest request) {
        Caller caller = Caller.current();
        return Uni.createFrom()
                .deferred(() -> versions.approve(caller, request.getModelVersionId(), request.getComment()))
                .map(ModelVersionProtos::version);
    }

    @Override
    @Authorized(Capability.MODELS_REVIEW)
    public Uni<ModelVersion> quarantineModelVersion(ReviewModelVersionRequest request) {
        Caller caller = Caller.current();
        return Uni.createFrom()
                .deferred(() -> versions.quarantine(caller, request.getModelVersionId(), request.getComment()))
                .map(ModelVersionProtos::version);
    }

    @Override
    @Authorized(Capability.MODELS_REVIEW)
    public Uni<ModelVersion> retireModelVersion(ReviewModelVersionRequest request) {
        Caller caller = Caller.current();
        return Uni.createFrom()
                .deferred(() -> versions.retire(caller, request.getModelVersionId(), request.getComment()))
                .map(ModelVersionProtos::version);
    }

    /**
     * The weights as a zip archive, decrypted into a bounded pipe by a worker thread while the call reads it, so
     * that no archive is held whole in memory or written to a disk.
     */
    @Override
    @Authorized(Capability.JOBS_MANAGE)
    public Multi<ArtifactChunk> exportModelVersion(ExportModelVersionRequest request) {
        Caller caller = Caller.current();
        return Uni.createFrom()
                .deferred(() -> versions.startExport(caller, request.getModelVersionId()))
                .onItem()
                .transformToMulti(this::archive)
                .map(bytes -> ArtifactChunk.newBuilder().setData(bytes).build());
    }

    /** The header (the version and its base model), then the weights as {@link #exportModelVersion} sends them. */
    @Override
    @Authorized(Capability.MODELS_LOAD)
    public Multi<ServingArtifact> loadModelVersionForServing(LoadModelVersionForServingRequest request) {
        Caller caller = Caller.current();
        return Uni.createFrom()
                .deferred(() -> versions.startLoadForServing(caller, request.getTenant(),
                        request.getModelVersionId(), request.getDeploymentId(), request.getOnBehalfOf()))
                .chain(version -> baseModels.get(version.baseModelId())
                        .map(base -> ServingArtifactHeader.newBuilder()
                                .setModelVersion(ModelVersionProtos.version(version))
                                .setBaseModel(toProto(base))
                                .build())
                        .map(header -> new ServingLoad(version, header)))
                .onItem()
                .transformToMulti(load -> Multi.createBy()
                        .concatenating()
                        .streams(Multi.createFrom().item(ServingArtifact.newBuilder().setHeader(load.header()).build()),
                                archive(load.version())
                                        .map(bytes -> ServingArtifact.newBuilder().setData(bytes).build())));
    }

    private record ServingLoad(dev.loupe.training.model.ModelVersion version, ServingArtifactHeader header) {
    }

    @Override
    @Authorized(Capability.MODELS_LOAD)
    public Uni<GetModelVersionStatesResponse> getModelVersionStates(GetModelVersionStatesRequest request) {
        return Uni.createFrom()
                .deferred(() -> versions.states(request.getTenant(), request.getModelVersionIdsList()))
                .map(states -> {
                    var response = GetModelVersionStatesResponse.newBuilder();
                    states.forEach((id, state) -> response.putStates(id, ModelVersionProtos.state(state)));
                    return response.build();
                });
    }

    /**
     * A version's files as a zip archive, decrypted into a bounded pipe by a worker thread while the call reads it,
     * so that no archive is held whole in memory or written to a disk.
     */
    private Multi<ByteString> archive(dev.loupe.training.model.ModelVersion version) {
        PipedInputStream archive = new PipedInputStream(EXPORT_PIPE_BYTES);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        try {
            PipedOutputStream writer = new PipedOutputStream(archive);
            Infrastructure.getDefaultWorkerPool().execute(() -> {
                try {
                    versions.writeArchive(version, writer);
                } catch (IOException | RuntimeException e) {
                    // Set before the pipe closes, so the reader never takes the end for a success.
                    failure.set(e);
                } finally {
                    closeQuietly(writer);
                }
            });
        } catch (IOException e) {
            return Multi.createFrom().failure(e);
        }
        return Multi.createBy()
                .repeating()
                .supplier(() -> nextChunk(archive, failure))
                .until(ByteString::isEmpty)
                .runSubscriptionOn(Infrastructure.getDefaultWorkerPool())
                // A client that goes away: the writer's next write fails and it lets go of the key.
                .onTermination()
                .invoke(() -> closeQuietly(archive));
    }

    private static void closeQuietly(java.io.Closeable closeable) {
        try {
            closeable.close();
        } catch (IOException e) {
            // Nothing more to do with it.
        }
    }

    /** The next chunk of the archive; empty at its end. */
    private static ByteString nextChunk(InputStream archive, AtomicReference<Throwable> failure) {
        try {
            byte[] bytes = archive.readNBytes(EXPORT_CHUNK_BYTES);
            if (bytes.length == 0) {
                archive.close();
                if (failure.get() != null) {
                    throw new IllegalStateException("the model version's files could not be read: "
                            + failure.get().getMessage(), failure.get());
                }
                return ByteString.EMPTY;
            }
            return ByteString.copyFrom(bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    @Authorized(Capability.LINEAGE_READ)
    public Uni<FindModelsTrainedOnResponse> findModelsTrainedOn(FindModelsTrainedOnRequest request) {
        return Uni.createFrom()
                .deferred(() -> versions.trainedOn(request.getTenant(), request.getRecordHashesList(),
                        request.getDatasetId()))
                .map(found -> FindModelsTrainedOnResponse.newBuilder()
                        .addAllModelVersions(found.stream().map(ModelVersionProtos::version).toList())
                        .build());
    }

    private static PageInfo pageInfo(String nextAfter) {
        return PageInfo.newBuilder().setHasMore(!nextAfter.isEmpty()).setNextAfter(nextAfter).build();
    }

    static dev.loupe.contracts.training.v1.BaseModel toProto(BaseModel model) {
        var built = dev.loupe.contracts.training.v1.BaseModel.newBuilder()
                .setId(model.id)
                .setDisplayName(model.displayName)
                .setArchitecture(model.architecture)
                .setParameterCount(model.parameterCount)
                .setStorageUri(model.storageUri)
                .setContentHash(model.contentHash)
                .setCreatedAt(ProtoTime.of(model.createdAt))
                .setCreatedBy(Actor.newBuilder()
                        .setUserId(model.createdByUserId)
                        .setUsername(model.createdByUsername)
                        .setService(model.createdByService));
        // jsonb keeps its own key order: answer in name order, as the content hash reads them.
        new TreeMap<>(model.fileManifest).forEach((name, file) -> built.addFiles(BaseModelFile.newBuilder()
                .setName(name)
                .setSha256(file.sha256())
                .setSizeBytes(file.size())));
        return built.build();
    }
}
