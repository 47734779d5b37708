package dev.loupe.gateway.rest;

import java.util.List;
import java.util.Map;

import jakarta.ws.rs.sse.OutboundSseEvent;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.smallrye.mutiny.Multi;
import org.jboss.resteasy.reactive.server.jaxrs.SseImpl;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import dev.loupe.contracts.training.v1.CreateJobRequest;
import dev.loupe.contracts.training.v1.EventType;
import dev.loupe.contracts.training.v1.JobEvent;
import dev.loupe.contracts.training.v1.JobState;
import dev.loupe.contracts.training.v1.Precision;
import dev.loupe.contracts.training.v1.TrainingMethod;
import dev.loupe.gateway.api.CreateJobBody;
import dev.loupe.gateway.api.JobEventView;
import dev.loupe.support.error.GrpcProblems;
import dev.loupe.support.error.Problem;
import dev.loupe.support.error.ProblemException;
import dev.loupe.support.error.ProblemType;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What the fine-tuning routes send to the training-service: a body's settings pass on only when given (the
 * service applies its defaults to the rest), names the service does not take are refused naming the field, and
 * the live event stream's events and its end.
 */
class FineTuningJobRequestsTest {
    /** The gateway's Jackson settings for request bodies. */
    private static final ObjectMapper JSON = new ObjectMapper()
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    private static CreateJobRequest request(String body) throws Exception {
        return FineTuningJobResource.createRequest(JSON.readValue(body, CreateJobBody.class), "key-1");
    }

    @Test
    void settingsLeftOutStayUnset() throws Exception {
        CreateJobRequest request = request("{\"model\": \"llava-tiny\", \"dataset_version\": \"v-1\"}");

        assertEquals("llava-tiny", request.getModel());
        assertEquals("v-1", request.getDatasetVersionId());
        assertEquals("key-1", request.getIdempotencyKey());
        assertFalse(request.hasMethod());
        assertFalse(request.hasHyperparameters());
        assertFalse(request.hasSeed());
        assertEquals(0, request.getPriority());
        assertTrue(request.getMetadataMap().isEmpty());
        assertEquals("", request.getValidationSplit());
    }

    @Test
    void partOfAGroupSetsOnlyThatPart() throws Exception {
        CreateJobRequest request = request("{\"model\": \"m\", \"dataset_version\": \"v\", "
                + "\"method\": {\"lora\": {\"rank\": 16}}, \"hyperparameters\": {\"epochs\": 1}}");

        assertEquals(TrainingMethod.TRAINING_METHOD_UNSPECIFIED, request.getMethod().getType());
        assertTrue(request.getMethod().getLora().hasRank());
        assertEquals(16, request.getMethod().getLora().getRank());
        assertFalse(request.getMethod().getLora().hasAlpha());
        assertFalse(request.getMethod().getLora().hasDropout());
        assertEquals(0, request.getMethod().getLora().getTargetModulesCount());
        assertFalse(request.getMethod().hasFreezeVisionEncoder());
        assertFalse(request.getMethod().hasTrainProjector());
        assertEquals(1, request.getHyperparameters().getEpochs());
        assertFalse(request.getHyperparameters().hasBatchSize());
        assertFalse(request.getHyperparameters().hasLearningRate());
        assertFalse(request.getHyperparameters().hasGradientAccumulationSteps());
        assertEquals(Precision.PRECISION_UNSPECIFIED, request.getHyperparameters().getPrecision());
    }

    @Test
    void everySettingPassesOn() throws Exception {
        CreateJobRequest request = request("""
                {"model": "m", "dataset_version": "v", "validation_split": "none",
                 "method": {"type": "full", "freeze_vision_encoder": false, "train_projector": true},
                 "hyperparameters": {"epochs": 2, "batch_size": 8, "learning_rate": 0.0002,
                   "vision_learning_rate_multiplier": 0.5, "warmup_ratio": 0.1, "weight_decay": 0.01,
                   "max_grad_norm": 0.5, "gradient_accumulation_steps": 4, "precision": "bf16"},
                 "seed": 0, "suffix": "xray", "metadata": {"team": "radiology"}, "priority": -3}""");

        assertEquals("none", request.getValidationSplit());
        assertEquals(TrainingMethod.TRAINING_METHOD_FULL, request.getMethod().getType());
        assertFalse(request.getMethod().hasLora());
        assertTrue(request.getMethod().hasFreezeVisionEncoder());
        assertFalse(request.getMethod().getFreezeVisionEncoder());
        assertTrue(request.getMethod().getTrainProjector());
        assertEquals(8, request.getHyperparameters().getBatchSize());
        assertEquals(0.0002, request.getHyperparameters().getLearningRate());
        assertEquals(0.5, request.getHyperparameters().getVisionLearningRateMultiplier());
        assertEquals(0.01, request.getHyperparameters().getWeightDecay());
        assertEquals(4, request.getHyperparameters().getGradientAccumulationSteps());
        assertEquals(Precision.PRECISION_BF16, request.getHyperparameters().getPrecision());
        // A seed of 0 is a seed, not "unset".
        assertTrue(request.hasSeed());
        assertEquals(0, request.getSeed());
        assertEquals("xray", request.getSuffix());
        assertEquals(Map.of("team", "radiology"), request.getMetadataMap());
        assertEquals(-3, request.getPriority());
    }

    @Test
    void loraSettingsPassOn() throws Exception {
        CreateJobRequest request = request("{\"model\": \"m\", \"dataset_version\": \"v\", \"method\": {\"type\": "
                + "\"lora\", \"lora\": {\"rank\": 4, \"alpha\": 8, \"dropout\": 0, \"target_modules\": [\"q_proj\"]}}}");

        assertEquals(TrainingMethod.TRAINING_METHOD_LORA, request.getMethod().getType());
        assertEquals(8.0, request.getMethod().getLora().getAlpha());
        assertTrue(request.getMethod().getLora().hasDropout());
        assertEquals(List.of("q_proj"), request.getMethod().getLora().getTargetModulesList());
    }

    @Test
    void missingBodyNamesModel() {
        ProblemException problem = assertThrows(ProblemException.class,
                () -> FineTuningJobResource.createRequest(null, null));
        assertEquals("model", problem.field().orElse(null));
    }

    @ParameterizedTest
    @ValueSource(strings = {"LoRA", "qlora", ""})
    void unknownMethodTypeNamesTheField(String type) {
        ProblemException problem = assertThrows(ProblemException.class,
                () -> request("{\"model\": \"m\", \"method\": {\"type\": \"" + type + "\"}}"));
        assertEquals("method.type", problem.field().orElse(null));
    }

    @ParameterizedTest
    @ValueSource(strings = {"FP16", "int8", ""})
    void unknownPrecisionNamesTheField(String precision) {
        ProblemException problem = assertThrows(ProblemException.class,
                () -> request("{\"model\": \"m\", \"hyperparameters\": {\"precision\": \"" + precision + "\"}}"));
        assertEquals("hyperparameters.precision", problem.field().orElse(null));
    }

    @Test
    void nullsInsideCollectionsNameTheField() {
        ProblemException metadata = assertThrows(ProblemException.class,
                () -> request("{\"model\": \"m\", \"metadata\": {\"team\": null}}"));
        assertEquals("metadata", metadata.field().orElse(null));
        ProblemException modules = assertThrows(ProblemException.class,
                () -> request("{\"model\": \"m\", \"method\": {\"lora\": {\"target_modules\": [null]}}}"));
        assertEquals("method.lora.target_modules", modules.field().orElse(null));
    }

    @Test
    void fieldsTheServiceNamesAreRenamedAsTheBodyNamesThem() {
        Throwable renamed = FineTuningJobResource.restFieldNames(
                GrpcProblems.toStatus(ProblemException.invalid("dataset_version_id", "no such version")));
        ProblemException problem = assertInstanceOf(ProblemException.class, renamed);
        assertEquals("dataset_version", problem.field().orElse(null));
        assertEquals(ProblemType.INVALID_REQUEST, problem.type());

        StatusRuntimeException other = GrpcProblems.toStatus(ProblemException.invalid("model", "no such model"));
        assertSame(other, FineTuningJobResource.restFieldNames(other));
    }

    @Test
    void statusFilterTakesTheNamesJobsShow() {
        assertEquals(List.of(JobState.JOB_STATE_VALIDATING_FILES, JobState.JOB_STATE_CANCELLED),
                FineTuningJobResource.parseStates(List.of("validating_files", "cancelled")));
        assertEquals(List.of(), FineTuningJobResource.parseStates(null));
        ProblemException problem = assertThrows(ProblemException.class,
                () -> FineTuningJobResource.parseStates(List.of("running", "RUNNING")));
        assertEquals("status", problem.field().orElse(null));
    }

    @Test
    void sequencesAreWholeNumbers() {
        assertEquals(0, FineTuningJobResource.parseSequence("after", null));
        assertEquals(42, FineTuningJobResource.parseSequence("Last-Event-ID", "42"));
        ProblemException problem = assertThrows(ProblemException.class,
                () -> FineTuningJobResource.parseSequence("Last-Event-ID", "-1"));
        assertEquals("Last-Event-ID", problem.field().orElse(null));
    }

    @Test
    void streamEventsCarrySequenceTypeAndView() {
        JobEvent metrics = JobEvent.newBuilder()
                .setId("e-7")
                .setSequence(7)
                .setType(EventType.EVENT_TYPE_METRICS)
                .putMetrics("train_loss", 0.5)
                .build();

        List<OutboundSseEvent> sent = FineTuningJobResource
                .eventStream(Multi.createFrom().item(metrics), SseImpl.INSTANCE, "r-1",
                        FineTuningJobResource.KEEP_ALIVE)
                .collect()
                .asList()
                .await()
                .indefinitely();

        assertEquals(1, sent.size());
        assertEquals("7", sent.get(0).getId());
        assertEquals("metrics", sent.get(0).getName());
        assertEquals(JobEventView.of(metrics), sent.get(0).getData());
    }

    @Test
    void failureAfterTheStreamStartedIsALastProblemEvent() {
        Multi<JobEvent> failing = Multi.createFrom().failure(Status.NOT_FOUND.asRuntimeException());

        List<OutboundSseEvent> sent = FineTuningJobResource
                .eventStream(failing, SseImpl.INSTANCE, "r-1", FineTuningJobResource.KEEP_ALIVE)
                .collect()
                .asList()
                .await()
                .indefinitely();

        assertEquals(1, sent.size());
        assertEquals(FineTuningJobResource.PROBLEM_EVENT, sent.get(0).getName());
        Problem problem = (Problem) sent.get(0).getData();
        assertEquals(404, problem.status());
        assertEquals("r-1", problem.requestId());
    }

    @Test
    void aQuietStreamSendsKeepAliveCommentsAndEndsWithItsEvents() {
        JobEvent last = JobEvent.newBuilder().setId("e-9").setSequence(9).setType(EventType.EVENT_TYPE_MESSAGE).build();
        Multi<JobEvent> slow = Multi.createFrom().item(last).onItem().call(event -> io.smallrye.mutiny.Uni.createFrom()
                .nullItem()
                .onItem()
                .delayIt()
                .by(java.time.Duration.ofMillis(300)));

        List<OutboundSseEvent> sent = FineTuningJobResource
                .eventStream(slow, SseImpl.INSTANCE, "r-1", java.time.Duration.ofMillis(50))
                .collect()
                .asList()
                .await()
                .atMost(java.time.Duration.ofSeconds(5));

        assertTrue(sent.size() >= 3, "keep-alive comments while the event was on its way: " + sent.size());
        assertEquals("keep-alive", sent.get(0).getComment());
        // The event, then nothing but a keep-alive that may tick between the event and the stream's end.
        int event = java.util.stream.IntStream.range(0, sent.size())
                .filter(i -> "9".equals(sent.get(i).getId()))
                .findFirst()
                .orElseThrow(() -> new AssertionError("event 9 was not sent"));
        assertTrue(sent.subList(event + 1, sent.size()).stream().allMatch(e -> "keep-alive".equals(e.getComment())));
    }

    @Test
    void theStreamsDeadlineEndsItQuietly() {
        Multi<JobEvent> expired = Multi.createFrom().failure(Status.DEADLINE_EXCEEDED.asRuntimeException());

        assertEquals(List.of(),
                FineTuningJobResource.eventStream(expired, SseImpl.INSTANCE, "r-1", FineTuningJobResource.KEEP_ALIVE)
                        .collect()
                        .asList()
                        .await()
                        .indefinitely());
    }
}
