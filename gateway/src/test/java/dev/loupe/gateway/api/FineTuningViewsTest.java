package dev.loupe.gateway.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import com.google.protobuf.Timestamp;
import org.junit.jupiter.api.Test;

import dev.loupe.contracts.common.v1.Actor;
import dev.loupe.contracts.training.v1.Checkpoint;
import dev.loupe.contracts.training.v1.EventLevel;
import dev.loupe.contracts.training.v1.EventType;
import dev.loupe.contracts.training.v1.FineTuningJob;
import dev.loupe.contracts.training.v1.Hyperparameters;
import dev.loupe.contracts.training.v1.JobEvent;
import dev.loupe.contracts.training.v1.JobState;
import dev.loupe.contracts.training.v1.LoraSettings;
import dev.loupe.contracts.training.v1.Method;
import dev.loupe.contracts.training.v1.Precision;
import dev.loupe.contracts.training.v1.TrainingMethod;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The JSON of fine-tuning jobs, their events and checkpoints, as the gateway's Jackson settings write it. */
class FineTuningViewsTest {
    private static final ObjectMapper JSON = new ObjectMapper().registerModule(new JavaTimeModule())
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS);
    private static final Timestamp CREATED = Timestamp.newBuilder().setSeconds(1_780_000_000).build();

    @Test
    void queuedLoraJob() {
        FineTuningJob job = FineTuningJob.newBuilder()
                .setId("j-1")
                .setModel("llava-tiny")
                .setDatasetId("d-1")
                .setDatasetVersionId("v-1")
                .setValidationSplit("validation")
                .setMethod(Method.newBuilder()
                        .setType(TrainingMethod.TRAINING_METHOD_LORA)
                        .setLora(LoraSettings.newBuilder().setRank(8).setAlpha(16).setDropout(0.05).addTargetModules(
                                "q_proj"))
                        .setFreezeVisionEncoder(true)
                        .setTrainProjector(false))
                .setHyperparameters(Hyperparameters.newBuilder()
                        .setEpochs(3)
                        .setLearningRate(1e-4)
                        .setPrecision(Precision.PRECISION_FP32))
                .setSeed(42)
                .setState(JobState.JOB_STATE_VALIDATING_FILES)
                .setAttempt(1)
                .setCreatedAt(CREATED)
                .setCreatedBy(Actor.newBuilder().setUserId("u-1").setUsername("acme-engineer"))
                .build();

        JsonNode json = JSON.valueToTree(JobView.of(job));

        assertEquals("fine_tuning.job", json.get("object").asText());
        assertEquals("v-1", json.get("dataset_version").asText());
        assertEquals("validating_files", json.get("status").asText());
        assertEquals("lora", json.at("/method/type").asText());
        assertEquals(8, json.at("/method/lora/rank").asInt());
        assertEquals("q_proj", json.at("/method/lora/target_modules/0").asText());
        assertTrue(json.at("/method/freeze_vision_encoder").asBoolean());
        assertEquals(3, json.at("/hyperparameters/epochs").asInt());
        assertTrue(json.at("/hyperparameters/batch_size").isNull());
        assertEquals("fp32", json.at("/hyperparameters/precision").asText());
        assertTrue(json.get("suffix").isNull());
        assertTrue(json.get("failure_reason").isNull());
        assertTrue(json.get("result_model_version").isNull());
        assertTrue(json.get("evaluation").isObject());
        assertEquals(0, json.get("evaluation").size());
        assertEquals("2026-05-28T20:26:40Z", json.get("created_at").asText());
        assertTrue(json.get("started_at").isNull());
        assertTrue(json.get("finished_at").isNull());
        assertEquals("acme-engineer", json.at("/created_by/username").asText());
    }

    @Test
    void fullJobHasNoLoraSettings() {
        FineTuningJob job = FineTuningJob.newBuilder()
                .setMethod(Method.newBuilder()
                        .setType(TrainingMethod.TRAINING_METHOD_FULL)
                        .setLora(LoraSettings.newBuilder().setRank(8)))
                .setState(JobState.JOB_STATE_SUCCEEDED)
                .setResultModelVersionId("mv-1")
                .setFinishedAt(CREATED)
                .putEvaluation("loss", 0.25)
                .build();

        JsonNode json = JSON.valueToTree(JobView.of(job));

        assertEquals("full", json.at("/method/type").asText());
        assertTrue(json.at("/method/lora").isNull());
        assertEquals("succeeded", json.get("status").asText());
        assertEquals("mv-1", json.get("result_model_version").asText());
        assertEquals(0.25, json.at("/evaluation/loss").asDouble());
        assertEquals("2026-05-28T20:26:40Z", json.get("finished_at").asText());
    }

    @Test
    void messageEventHasNullDataAndMetricsEventHasItsValues() {
        JsonNode message = JSON.valueToTree(JobEventView.of(JobEvent.newBuilder()
                .setId("e-1")
                .setSequence(1)
                .setLevel(EventLevel.EVENT_LEVEL_WARN)
                .setType(EventType.EVENT_TYPE_MESSAGE)
                .setMessage("resumed from step 40")
                .setCreatedAt(CREATED)
                .build()));
        JsonNode metrics = JSON.valueToTree(JobEventView.of(JobEvent.newBuilder()
                .setSequence(2)
                .setLevel(EventLevel.EVENT_LEVEL_INFO)
                .setType(EventType.EVENT_TYPE_METRICS)
                .putMetrics("step", 41)
                .build()));

        assertEquals("fine_tuning.job.event", message.get("object").asText());
        assertEquals("warn", message.get("level").asText());
        assertEquals("message", message.get("type").asText());
        assertTrue(message.get("data").isNull());
        assertEquals("metrics", metrics.get("type").asText());
        assertEquals(41, metrics.at("/data/step").asInt());
    }

    @Test
    void checkpoint() {
        JsonNode json = JSON.valueToTree(CheckpointView.of(Checkpoint.newBuilder()
                .setId("c-1")
                .setJobId("j-1")
                .setStep(100)
                .putMetrics("train_loss", 0.5)
                .setContentHash("ab12")
                .setCreatedAt(CREATED)
                .build()));

        assertEquals("fine_tuning.job.checkpoint", json.get("object").asText());
        assertEquals(100, json.get("step").asLong());
        assertEquals(0.5, json.at("/metrics/train_loss").asDouble());
        assertEquals("ab12", json.get("content_hash").asText());
    }
}
