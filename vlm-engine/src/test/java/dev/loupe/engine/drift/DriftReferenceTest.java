package dev.loupe.engine.drift;

import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.UnaryOperator;

import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import dev.loupe.engine.image.ImagePreprocessor;
import dev.loupe.engine.tiny.SyntheticScenes;
import dev.loupe.engine.tiny.TinyBase;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The drift reference of synthetic scenes, measured with the tiny base, against live windows: scenes of another
 * seed do not drift; darkened pictures, noise and answers in another form do, each on its own features.
 */
class DriftReferenceTest {
    private static final int REFERENCE = 400;
    private static final int WINDOW = 200;
    private static final double PSI = 0.25;
    private static final double RATE = 0.2;

    static NDManager manager;
    static TinyBase base;
    static ImagePreprocessor preprocessor;
    static DriftReference reference;

    @BeforeAll
    static void measureTheTrainingScenes() throws Exception {
        manager = NDManager.newBaseManager();
        base = TinyBase.load(manager);
        preprocessor = ImagePreprocessor.forModel(TinyBase.folder(), base.model().config().visionConfig()
                .imageSize());
        List<BufferedImage> images = scenes(1, REFERENCE, UnaryOperator.identity());
        DriftReference.Builder builder = new DriftReference.Builder();
        images.forEach(image -> builder.addImage(ImageStatistics.of(image)));
        ImageEmbeddings.of(manager, base.model(), preprocessor, images).forEach(builder::addEmbedding);
        Random random = new Random(1);
        for (int i = 0; i < REFERENCE; i++) {
            String answer = jsonAnswer(random);
            builder.addAnswer(base.tokenizer().text(answer).length, answer);
        }
        reference = builder.build();
    }

    @AfterAll
    static void close() {
        base.close();
        manager.close();
    }

    @Test
    void theReferenceDescribesTheScenesAndReadsBackAsWritten() throws Exception {
        assertEquals(REFERENCE, reference.images());
        assertEquals(REFERENCE, reference.answers());
        for (DriftFeature feature : DriftFeature.values()) {
            if (feature.measure() == DriftFeature.Measure.PSI) {
                assertTrue(reference.distribution(feature).isPresent(), feature.key());
            } else {
                assertTrue(reference.rate(feature).isPresent(), feature.key());
            }
        }
        // Every scene is 96 x 96: one edge, the rest of the values above it.
        assertArrayEquals(new double[]{96}, reference.distribution(DriftFeature.IMAGE_WIDTH).get().edges());
        assertEquals(0.0, reference.rate(DriftFeature.OUTPUT_PARSE_FAILURE_RATE).get());
        assertEquals(base.model().config().textConfig().hiddenSize(), reference.embeddingCentroid().length);

        DriftReference read = DriftReference.fromJson(reference.toJson());
        assertArrayEquals(reference.embeddingCentroid(), read.embeddingCentroid());
        for (var entry : reference.distributions().entrySet()) {
            assertArrayEquals(entry.getValue().edges(), read.distributions().get(entry.getKey()).edges());
            assertArrayEquals(entry.getValue().fractions(), read.distributions().get(entry.getKey()).fractions());
        }
        assertEquals(reference.rates(), read.rates());
    }

    @Test
    void scenesOfAnotherSeedDoNotDrift() {
        DriftAssessment assessment = window(scenes(2, WINDOW, UnaryOperator.identity()), true)
                .assess(WINDOW, PSI, RATE);
        assertFalse(assessment.drifting(), () -> "in distribution, yet " + assessment.drifted());
        assertEquals(DriftFeature.values().length, assessment.features().size());
        assessment.features().forEach(feature -> assertTrue(feature.assessed(), feature.feature()));
    }

    @Test
    void darkerPicturesDriftInBrightnessAndContrastButNotInSize() {
        DriftAssessment assessment = window(scenes(3, WINDOW, SyntheticScenes::dimmed), true)
                .assess(WINDOW, PSI, RATE);
        List<String> drifted = assessment.drifted().stream().map(DriftAssessment.FeatureDrift::feature).toList();
        assertTrue(drifted.contains("image_brightness"), drifted::toString);
        assertTrue(drifted.contains("image_contrast"), drifted::toString);
        assertFalse(drifted.contains("image_width"), drifted::toString);
        assertFalse(drifted.contains("output_tokens"), drifted::toString);
    }

    @Test
    void noiseOfTheSameSizeDriftsInTheVisionFeatures() {
        List<BufferedImage> noise = new ArrayList<>();
        Random random = new Random(4);
        for (int i = 0; i < WINDOW; i++) {
            BufferedImage image = new BufferedImage(SyntheticScenes.IMAGE_SIZE, SyntheticScenes.IMAGE_SIZE,
                    BufferedImage.TYPE_INT_RGB);
            for (int y = 0; y < image.getHeight(); y++) {
                for (int x = 0; x < image.getWidth(); x++) {
                    image.setRGB(x, y, random.nextInt(0x1000000));
                }
            }
            noise.add(image);
        }
        DriftAssessment assessment = window(noise, true).assess(WINDOW, PSI, RATE);
        List<String> drifted = assessment.drifted().stream().map(DriftAssessment.FeatureDrift::feature).toList();
        assertTrue(drifted.contains("image_embedding_distance"), () -> assessment.features().toString());
        assertFalse(drifted.contains("image_width"), drifted::toString);
    }

    @Test
    void answersThatAreNotJsonAnyMoreDriftInTheParseFailureRate() {
        DriftAssessment assessment = window(scenes(5, WINDOW, UnaryOperator.identity()), false)
                .assess(WINDOW, PSI, RATE);
        List<String> drifted = assessment.drifted().stream().map(DriftAssessment.FeatureDrift::feature).toList();
        assertTrue(drifted.contains("output_parse_failure_rate"), drifted::toString);
        assertFalse(drifted.contains("output_refusal_rate"), drifted::toString);
        assertFalse(drifted.stream().anyMatch(name -> name.startsWith("image_")), drifted::toString);
    }

    @Test
    void aWindowIsAssessedOnlyOnceItHoldsEnoughValues() {
        DriftWindow window = window(scenes(6, 10, SyntheticScenes::dimmed), true);
        DriftAssessment assessment = window.assess(WINDOW, PSI, RATE);
        assertFalse(assessment.drifting());
        assertTrue(assessment.features().stream().noneMatch(DriftAssessment.FeatureDrift::assessed));
        assertEquals(10, assessment.features().get(0).samples());
    }

    @Test
    void psiIsSmallForTheSameDistributionAndLargeForAShiftedOne() {
        Random random = new Random(7);
        double[] trained = random.doubles(2000).map(v -> v * 10).toArray();
        Distribution distribution = Distribution.of(trained, 10);
        assertEquals(9, distribution.edges().length);
        assertTrue(distribution.psi(random.doubles(500).map(v -> v * 10).toArray()) < 0.1);
        assertTrue(distribution.psi(random.doubles(500).map(v -> v * 10 + 3).toArray()) > PSI);
        Distribution constant = Distribution.of(new double[]{96, 96, 96}, 10);
        assertEquals(0, constant.psi(new double[]{96, 96}), 1e-12);
        assertTrue(constant.psi(new double[]{128, 128}) > PSI);
        assertTrue(constant.psi(new double[]{64, 64}) < PSI, "smaller values share the reference's bin");
    }

    private static DriftWindow window(List<BufferedImage> images, boolean jsonAnswers) {
        DriftWindow window = new DriftWindow(reference, WINDOW);
        images.forEach(image -> window.addImage(ImageStatistics.of(image)));
        ImageEmbeddings.of(manager, base.model(), preprocessor, images).forEach(window::addEmbedding);
        Random random = new Random(images.size());
        for (int i = 0; i < images.size(); i++) {
            String answer = jsonAnswer(random);
            if (!jsonAnswers) {
                answer = answer.replaceAll("[{}\"]", "");
            }
            window.addAnswer(base.tokenizer().text(answer).length, answer, true);
        }
        return window;
    }

    private static List<BufferedImage> scenes(long seed, int count, UnaryOperator<BufferedImage> change) {
        SyntheticScenes scenes = new SyntheticScenes(seed);
        List<BufferedImage> images = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            images.add(change.apply(SyntheticScenes.render(scenes.scene(i))));
        }
        return images;
    }

    private static String jsonAnswer(Random random) {
        String[] colours = {"red", "green", "blue", "yellow", "purple", "orange"};
        StringBuilder answer = new StringBuilder("{\"colours\": [");
        int count = 1 + random.nextInt(3);
        for (int i = 0; i < count; i++) {
            answer.append(i > 0 ? ", " : "").append('"').append(colours[random.nextInt(colours.length)]).append('"');
        }
        return answer.append("]}").toString();
    }
}
