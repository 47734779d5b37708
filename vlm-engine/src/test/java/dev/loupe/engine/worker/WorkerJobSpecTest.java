package dev.loupe.engine.worker;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Reading job specs: every value checked, every refusal naming its field. */
class WorkerJobSpecTest {
    private static final Path FOLDER = Path.of("/jobs/j-7");
    private static final String REQUIRED = "\"job_id\": \"j-7\", \"base_model\": \"/models/base\", "
            + "\"output\": \"out\", \"train_examples\": \"data/train.jsonl\"";

    private static JobSpec parse(String extra) {
        return JobSpec.parse("{" + REQUIRED + (extra.isEmpty() ? "" : ", " + extra) + "}", FOLDER);
    }

    @Test
    void aFullSpecReadsWithRelativePathsResolvedAgainstItsFolder(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("job.json");
        Files.writeString(file, """
                {
                  "job_id": "ft-42",
                  "base_model": "/models/llava",
                  "output": "out",
                  "train_examples": "data/train.jsonl",
                  "validation_examples": "data/validation.jsonl",
                  "method": {
                    "type": "lora",
                    "lora": {"rank": 16, "alpha": 32, "dropout": 0.1, "target_modules": ["q_proj", "v_proj"]},
                    "freeze_vision_encoder": false,
                    "train_projector": false
                  },
                  "hyperparameters": {
                    "epochs": 2, "batch_size": 8, "learning_rate": 0.0002, "vision_learning_rate_multiplier": 0.2,
                    "warmup_ratio": 0.1, "weight_decay": 0.01, "max_grad_norm": 0.5,
                    "gradient_accumulation_steps": 4, "precision": "fp16"
                  },
                  "seed": 7,
                  "checkpoint_every_steps": 50
                }
                """);

        JobSpec spec = JobSpec.read(file);

        assertEquals(new JobSpec("ft-42", Path.of("/models/llava"), dir.resolve("out"),
                dir.resolve("data/train.jsonl"), dir.resolve("data/validation.jsonl"), false,
                new JobSpec.Method(JobSpec.MethodType.lora,
                        new JobSpec.Lora(16, 32, 0.1, List.of("q_proj", "v_proj")), false, false),
                new JobSpec.Hyperparameters(2, 8, 2e-4, 0.2, 0.1, 0.01, 0.5, 4, JobSpec.Precision.fp16), 7, 50),
                spec);
    }

    @Test
    void leftOutKeysTakeTheirDefaults() {
        JobSpec spec = parse("");

        assertEquals(FOLDER.resolve("out"), spec.output());
        assertNull(spec.validationExamples());
        assertEquals(new JobSpec.Method(JobSpec.MethodType.lora,
                new JobSpec.Lora(8, 16, 0.05, List.of("q_proj", "k_proj", "v_proj", "o_proj")), true, false),
                spec.method());
        assertEquals(new JobSpec.Hyperparameters(3, 4, 1e-4, 0.1, 0.03, 0, 1, 1, JobSpec.Precision.fp32),
                spec.hyperparameters());
        assertEquals(42, spec.seed());
        assertEquals(0, spec.checkpointEverySteps(), "0: once per epoch");
        assertNull(parse("\"method\": {\"type\": \"full\"}").method().lora());
    }

    static Stream<Arguments> badValues() {
        return Stream.of(
                Arguments.of("\"hyperparameters\": {\"learning_rate\": 0}", "hyperparameters.learning_rate",
                        "hyperparameters.learning_rate must be in (0, 1]"),
                Arguments.of("\"hyperparameters\": {\"learning_rate\": 1.5}", "hyperparameters.learning_rate",
                        "hyperparameters.learning_rate must be in (0, 1]"),
                Arguments.of("\"hyperparameters\": {\"epochs\": 0}", "hyperparameters.epochs",
                        "hyperparameters.epochs must be in [1, 1000]"),
                Arguments.of("\"hyperparameters\": {\"epochs\": 2.5}", "hyperparameters.epochs",
                        "hyperparameters.epochs must be a whole number"),
                Arguments.of("\"hyperparameters\": {\"batch_size\": \"4\"}", "hyperparameters.batch_size",
                        "hyperparameters.batch_size must be a whole number"),
                Arguments.of("\"hyperparameters\": {\"warmup_ratio\": 1}", "hyperparameters.warmup_ratio",
                        "hyperparameters.warmup_ratio must be in [0, 1)"),
                Arguments.of("\"hyperparameters\": {\"max_grad_norm\": 0}", "hyperparameters.max_grad_norm",
                        "hyperparameters.max_grad_norm must be a number > 0"),
                Arguments.of("\"hyperparameters\": {\"gradient_accumulation_steps\": 0}",
                        "hyperparameters.gradient_accumulation_steps",
                        "hyperparameters.gradient_accumulation_steps must be in [1, 1024]"),
                Arguments.of("\"hyperparameters\": {\"precision\": \"bf16\"}", "hyperparameters.precision",
                        "hyperparameters.precision must be fp32 or fp16, not bf16 (BF16 aborts DJL's PyTorch "
                                + "engine on CPU)"),
                Arguments.of("\"method\": {\"type\": \"qlora\"}", "method.type",
                        "method.type must be lora or full, not qlora"),
                Arguments.of("\"method\": {\"lora\": {\"rank\": 0}}", "method.lora.rank",
                        "method.lora.rank must be in [1, 1024]"),
                Arguments.of("\"method\": {\"lora\": {\"dropout\": 1}}", "method.lora.dropout",
                        "method.lora.dropout must be in [0, 1)"),
                Arguments.of("\"method\": {\"lora\": {\"target_modules\": []}}", "method.lora.target_modules",
                        "method.lora.target_modules must be a non-empty list of distinct layer names, e.g. "
                                + "[\"q_proj\", \"v_proj\"]"),
                Arguments.of("\"method\": {\"type\": \"full\", \"lora\": {\"rank\": 4}}", "method.lora",
                        "method.lora applies to method.type lora only"),
                Arguments.of("\"method\": {\"train_projector\": true}", "method.train_projector",
                        "method.train_projector must be false with method.type lora (LoRA checkpoints and results "
                                + "hold adapters only); use type full to train the projector"),
                Arguments.of("\"method\": {\"freeze_vision_encoder\": \"no\"}", "method.freeze_vision_encoder",
                        "method.freeze_vision_encoder must be true or false"),
                Arguments.of("\"checkpoint_every_steps\": 0", "checkpoint_every_steps",
                        "checkpoint_every_steps must be at least 1 (leave it out for one checkpoint per epoch)"),
                Arguments.of("\"seed\": \"x\"", "seed", "seed must be a whole number"),
                Arguments.of("\"validation_examples\": \" \"", "validation_examples",
                        "validation_examples must not be blank"));
    }

    @ParameterizedTest
    @MethodSource("badValues")
    void aBadValueIsRefusedNamingItsField(String extra, String field, String message) {
        JobSpecException refused = assertThrows(JobSpecException.class, () -> parse(extra));
        assertEquals(field, refused.field());
        assertEquals(message, refused.getMessage());
    }

    @Test
    void aMissingRequiredKeyIsRefusedNamingIt() {
        JobSpecException refused = assertThrows(JobSpecException.class,
                () -> JobSpec.parse("{\"job_id\": \"j\", \"base_model\": \"b\", \"output\": \"o\"}", FOLDER));
        assertEquals("train_examples", refused.field());
        assertEquals("train_examples is required", refused.getMessage());
        assertEquals("job_id", assertThrows(JobSpecException.class,
                () -> JobSpec.parse("{\"base_model\": \"b\", \"output\": \"o\", \"train_examples\": \"t\"}",
                        FOLDER))
                .field());
    }

    @Test
    void anUnknownKeyIsRefusedNamingIt() {
        JobSpecException atRoot = assertThrows(JobSpecException.class, () -> parse("\"learning_rate\": 0.1"));
        assertEquals("learning_rate", atRoot.field());
        assertTrue(atRoot.getMessage().startsWith("learning_rate is not a key of the job spec (known keys: "),
                atRoot.getMessage());
        assertEquals("hyperparameters.lr",
                assertThrows(JobSpecException.class, () -> parse("\"hyperparameters\": {\"lr\": 0.1}")).field());
        assertEquals("method.lora.r",
                assertThrows(JobSpecException.class, () -> parse("\"method\": {\"lora\": {\"r\": 8}}")).field());
    }

    @Test
    void whatIsNoSingleJsonObjectIsRefused() {
        for (String text : List.of("[]", "{\"job_id\": \"a\", \"job_id\": \"b\"}", "{" + REQUIRED + "} {}",
                "not json")) {
            assertThrows(JobSpecException.class, () -> JobSpec.parse(text, FOLDER), text);
        }
    }
}
