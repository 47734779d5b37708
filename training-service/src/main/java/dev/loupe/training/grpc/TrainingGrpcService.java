package dev.loupe.training.grpc;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

import io.quarkus.grpc.GrpcService;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;

import dev.loupe.contracts.common.v1.Actor;
import dev.loupe.contracts.common.v1.PageInfo;
import dev.loupe.contracts.training.v1.BaseModelFile;
import dev.loupe.contracts.training.v1.CreateJobRequest;
import dev.loupe.contracts.training.v1.CreateJobResponse;
import dev.loupe.contracts.training.v1.FineTuningJob;
import dev.loupe.contracts.training.v1.GetJobRequest;
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
import dev.loupe.contracts.training.v1.MutinyTrainingServiceGrpc;
import dev.loupe.contracts.training.v1.RegisterBaseModelRequest;
import dev.loupe.contracts.training.v1.WatchJobEventsRequest;
import dev.loupe.support.error.ProblemException;
import dev.loupe.support.grpc.ProtoTime;
import dev.loupe.support.security.Authorized;
import dev.loupe.support.security.Caller;
import dev.loupe.support.security.Capability;
import dev.loupe.training.job.JobService;
import dev.loupe.training.model.BaseModel;
import dev.loupe.training.model.JobStatus;
import dev.loupe.training.service.BaseModelService;

/**
 * The training-service's gRPC API (contract {@code loupe.training.v1.TrainingService}): base models (platform
 * operators register them, {@link Capability#PLATFORM_OPERATE}; whoever may read a tenant's jobs lists them) and
 * fine-tuning jobs ({@link Capability#JOBS_MANAGE} to create and control them, {@link Capability#JOBS_READ} to
 * read them, their events and checkpoints). The model versions' RPCs have no capability yet and are denied
 * ({@code PERMISSION_DENIED}) until they are implemented.
 */
@GrpcService
public class TrainingGrpcService extends MutinyTrainingServiceGrpc.TrainingServiceImplBase {
    private final BaseModelService baseModels;
    private final JobService jobs;

    public TrainingGrpcService(BaseModelService baseModels, JobService jobs) {
        this.baseModels = baseModels;
        this.jobs = jobs;
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
        return baseModels.list(request.getPage().getLimit(), request.getPage().getAfter()).map(page -> {
            ListBaseModelsResponse.Builder response = ListBaseModelsResponse.newBuilder();
            page.models().forEach(model -> response.addModels(toProto(model)));
            PageInfo.Builder info = PageInfo.newBuilder().setHasMore(page.hasMore());
            if (page.hasMore()) {
                info.setNextAfter(page.models().get(page.models().size() - 1).id);
            }
            return response.setPage(info).build();
        });
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
