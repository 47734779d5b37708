package dev.loupe.gateway.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import com.google.protobuf.ListValue;
import com.google.protobuf.NullValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Timestamp;
import com.google.protobuf.Value;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import dev.loupe.contracts.common.v1.Actor;
import dev.loupe.contracts.training.v1.BaseModel;
import dev.loupe.contracts.training.v1.Lineage;
import dev.loupe.contracts.training.v1.ModelVersion;
import dev.loupe.contracts.training.v1.ModelVersionState;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The JSON of the model registry's entries, as the gateway's Jackson settings write it. */
class ModelViewsTest {
    private static final ObjectMapper JSON = new ObjectMapper().registerModule(new JavaTimeModule())
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS);
    private static final Timestamp CREATED = Timestamp.newBuilder().setSeconds(1_780_000_000).build();
    private static final Timestamp REVIEWED = Timestamp.newBuilder().setSeconds(1_780_000_600).build();

    private static ModelVersion.Builder candidate() {
        Struct config = Struct.newBuilder()
                .putFields("method", Value.newBuilder()
                        .setStructValue(Struct.newBuilder()
                                .putFields("type", Value.newBuilder().setStringValue("lora").build())
                                .putFields("lora", Value.newBuilder()
                                        .setStructValue(Struct.newBuilder()
                                                .putFields("rank", Value.newBuilder().setNumberValue(8).build())
                                                .putFields("dropout", Value.newBuilder().setNumberValue(0.05).build())
                                                .putFields("target_modules", Value.newBuilder()
                                                        .setListValue(ListValue.newBuilder()
                                                                .addValues(Value.newBuilder().setStringValue("q_proj")))
                                                        .build()))
                                        .build()))
                        .build())
                .putFields("hyperparameters", Value.newBuilder()
                        .setStructValue(Struct.newBuilder()
                                .putFields("epochs", Value.newBuilder().setNumberValue(3).build())
                                .putFields("learning_rate", Value.newBuilder().setNumberValue(1e-4).build())
                                .putFields("train_projector", Value.newBuilder().setBoolValue(false).build())
                                .putFields("note", Value.newBuilder().setNullValue(NullValue.NULL_VALUE).build()))
                        .build())
                .build();
        return ModelVersion.newBuilder()
                .setId("01890a5d-ac96-7000-8000-00000000000a")
                .setName("loupe-tiny-base:colours:01890a5d")
                .setJobId("01890a5d-ac96-7000-8000-00000000000b")
                .setState(ModelVersionState.MODEL_VERSION_STATE_PENDING_REVIEW)
                .setLineage(Lineage.newBuilder()
                        .setBaseModelId("loupe-tiny-base")
                        .setBaseModelHash("b".repeat(64))
                        .setDatasetId("d-1")
                        .setDatasetVersionId("v-1")
                        .setManifestHash("m".repeat(64))
                        .setCodeVersion("0.1.0")
                        .setSeed(42)
                        .setConfig(config)
                        .setTrainedRecordCount(90)
                        .setValidationRecordCount(10)
                        .putHardware("cpus", "2"))
                .putEvaluation("loss", 0.5)
                .putBaseEvaluation("loss", 2.5)
                .setCreatedAt(CREATED)
                .setTrainedBy(Actor.newBuilder().setUserId("u-1").setUsername("acme-engineer"))
                .setArtifactKind("adapter")
                .setArtifactHash("a".repeat(64))
                .setArtifactBytes(12_345);
    }

    @Test
    void candidateWithoutReview() {
        JsonNode json = JSON.valueToTree(ModelVersionView.of(candidate().build()));

        assertEquals("model", json.get("object").asText());
        assertEquals("fine_tuned", json.get("type").asText());
        assertEquals("loupe-tiny-base:colours:01890a5d", json.get("name").asText());
        assertEquals("01890a5d-ac96-7000-8000-00000000000b", json.get("job_id").asText());
        assertEquals("candidate", json.get("status").asText());
        assertEquals("loupe-tiny-base", json.at("/lineage/base_model").asText());
        assertEquals("v-1", json.at("/lineage/dataset_version").asText());
        assertEquals(42, json.at("/lineage/seed").asLong());
        assertEquals(90, json.at("/lineage/trained_record_count").asLong());
        assertEquals(10, json.at("/lineage/validation_record_count").asLong());
        assertEquals("2", json.at("/lineage/hardware/cpus").asText());
        assertEquals(0.5, json.at("/evaluation/loss").asDouble());
        assertEquals(2.5, json.at("/base_evaluation/loss").asDouble());
        assertEquals("adapter", json.get("artifact_kind").asText());
        assertEquals(12_345, json.get("artifact_bytes").asLong());
        assertEquals("2026-05-28T20:26:40Z", json.get("created_at").asText());
        assertEquals("acme-engineer", json.at("/trained_by/username").asText());
        assertTrue(json.get("reviewed_by").isNull());
        assertTrue(json.get("review_comment").isNull());
        assertTrue(json.get("reviewed_at").isNull());
    }

    @Test
    void theConfigStructIsAJsonObjectWithWholeNumbersAsIntegers() {
        JsonNode config = JSON.valueToTree(ModelVersionView.of(candidate().build())).at("/lineage/config");

        assertTrue(config.isObject());
        assertEquals("lora", config.at("/method/type").asText());
        assertTrue(config.at("/method/lora/rank").isIntegralNumber(), config.toString());
        assertEquals(8, config.at("/method/lora/rank").asInt());
        assertEquals(0.05, config.at("/method/lora/dropout").asDouble());
        assertEquals("q_proj", config.at("/method/lora/target_modules/0").asText());
        assertTrue(config.at("/hyperparameters/epochs").isIntegralNumber());
        assertEquals(1e-4, config.at("/hyperparameters/learning_rate").asDouble());
        assertTrue(config.at("/hyperparameters/train_projector").isBoolean());
        assertTrue(config.at("/hyperparameters/note").isNull());
    }

    @Test
    void anUnsetConfigIsAnEmptyObject() {
        ModelVersion version = candidate().setLineage(Lineage.newBuilder().setBaseModelId("loupe-tiny-base")).build();

        JsonNode config = JSON.valueToTree(ModelVersionView.of(version)).at("/lineage/config");

        assertTrue(config.isObject());
        assertEquals(0, config.size());
    }

    @Test
    void reviewedVersionShowsItsReviewer() {
        ModelVersion version = candidate().setState(ModelVersionState.MODEL_VERSION_STATE_APPROVED)
                .setReviewedBy(Actor.newBuilder().setUserId("u-2").setUsername("acme-compliance"))
                .setReviewComment("looks fine")
                .setReviewedAt(REVIEWED)
                .build();

        JsonNode json = JSON.valueToTree(ModelVersionView.of(version));

        assertEquals("approved", json.get("status").asText());
        assertEquals("acme-compliance", json.at("/reviewed_by/username").asText());
        assertEquals("looks fine", json.get("review_comment").asText());
        assertEquals("2026-05-28T20:36:40Z", json.get("reviewed_at").asText());
    }

    @Test
    void anEmptyReviewerIsNull() {
        ModelVersion version = candidate().setReviewedBy(Actor.getDefaultInstance()).build();

        assertNull(ModelVersionView.of(version).reviewedBy());
    }

    @ParameterizedTest
    @CsvSource({
            "MODEL_VERSION_STATE_PENDING_REVIEW, candidate", "MODEL_VERSION_STATE_APPROVED, approved",
            "MODEL_VERSION_STATE_QUARANTINED, quarantined", "MODEL_VERSION_STATE_ERASED, erased",
            "MODEL_VERSION_STATE_RETIRED, retired"})
    void statusNames(ModelVersionState state, String status) {
        assertEquals(status, ModelVersionView.statusName(state));
    }

    @Test
    void anUnspecifiedStateHasNoName() {
        assertNull(ModelVersionView.statusName(ModelVersionState.MODEL_VERSION_STATE_UNSPECIFIED));
    }

    @Test
    void baseModelsSayTheirType() {
        BaseModel model = BaseModel.newBuilder()
                .setId("loupe-tiny-base")
                .setArchitecture("llava")
                .setCreatedAt(CREATED)
                .setCreatedBy(Actor.newBuilder().setService("training-service"))
                .build();

        JsonNode json = JSON.valueToTree(BaseModelView.of(model));

        assertEquals("model", json.get("object").asText());
        assertEquals("base", json.get("type").asText());
        assertEquals("training-service", json.at("/created_by/service").asText());
    }
}
