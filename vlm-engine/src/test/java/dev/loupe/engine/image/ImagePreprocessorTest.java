package dev.loupe.engine.image;

import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import javax.imageio.ImageIO;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Pictures to pixel inputs as a {@code preprocessor_config.json} says. */
class ImagePreprocessorTest {
    @TempDir
    Path dir;

    private ImagePreprocessor read(String json, int imageSize) throws Exception {
        Path file = dir.resolve(ImagePreprocessor.CONFIG_FILE);
        Files.writeString(file, json);
        return ImagePreprocessor.read(file, imageSize);
    }

    /** Red, green / blue, white; row by row. */
    private static BufferedImage fourColours() {
        BufferedImage image = new BufferedImage(2, 2, BufferedImage.TYPE_INT_RGB);
        image.setRGB(0, 0, Color.RED.getRGB());
        image.setRGB(1, 0, Color.GREEN.getRGB());
        image.setRGB(0, 1, Color.BLUE.getRGB());
        image.setRGB(1, 1, Color.WHITE.getRGB());
        return image;
    }

    @Test
    void aTwoByTwoPictureGivesChannelPlanesOfTheExpectedValues() throws Exception {
        ImagePreprocessor halves = read("{\"size\": {\"height\": 2, \"width\": 2}, \"image_mean\": [0.5, 0.5, 0.5], "
                + "\"image_std\": [0.5, 0.5, 0.5]}", 2);

        // (v / 255 - 0.5) / 0.5: 255 is 1 and 0 is -1 exactly. Planes R, G, B; pixels row by row.
        assertArrayEquals(new float[]{
                1, -1, -1, 1,
                -1, 1, -1, 1,
                -1, -1, 1, 1}, halves.pixels(fourColours()));
    }

    @Test
    void clipDefaultsApplyWithoutAFile() throws Exception {
        ImagePreprocessor clip = ImagePreprocessor.forModel(dir, 2);

        float[] pixels = clip.pixels(fourColours());

        assertEquals((1 - 0.48145466f) / 0.26862954f, pixels[0], 1e-6, "red of the red pixel");
        assertEquals((0 - 0.4578275f) / 0.26130258f, pixels[4], 1e-6, "green of the red pixel");
        assertEquals((1 - 0.40821073f) / 0.27577711f, pixels[11], 1e-6, "blue of the white pixel");
    }

    @Test
    void meanOneStdOneGivesTheTinyBaseConventionBitwise() throws Exception {
        ImagePreprocessor tiny = read("{\"do_resize\": true, \"size\": {\"shortest_edge\": 16}, \"do_rescale\": true,"
                + " \"rescale_factor\": 0.00392156862745098, \"do_normalize\": true, \"image_mean\": [1, 1, 1], "
                + "\"image_std\": [1, 1, 1], \"resample\": 3}", 16);
        BufferedImage ramp = new BufferedImage(16, 16, BufferedImage.TYPE_INT_RGB);
        for (int v = 0; v < 256; v++) {
            ramp.setRGB(v % 16, v / 16, new Color(v, 255 - v, v).getRGB());
        }

        float[] pixels = tiny.pixels(ramp);

        for (int v = 0; v < 256; v++) {
            assertEquals(v / 255f - 1, pixels[v], "red " + v);
            assertEquals((255 - v) / 255f - 1, pixels[256 + v], "green " + (255 - v));
        }
    }

    @Test
    void otherSizesAreResizedAndGreyStaysItsLevel() throws Exception {
        ImagePreprocessor plain = read("{\"do_rescale\": false, \"do_normalize\": false, \"size\": 4}", 4);
        BufferedImage wide = new BufferedImage(40, 10, BufferedImage.TYPE_INT_ARGB);
        for (int x = 0; x < 40; x++) {
            for (int y = 0; y < 10; y++) {
                wide.setRGB(x, y, new Color(10, 20, 30, 128).getRGB());
            }
        }
        float[] resized = plain.pixels(wide);
        assertEquals(3 * 4 * 4, resized.length);
        for (int i = 0; i < 16; i++) {
            assertEquals(10, resized[i]);
            assertEquals(20, resized[16 + i]);
            assertEquals(30, resized[32 + i]);
        }

        // A grey PNG keeps its stored level: Java's getRGB would brighten it as linear light.
        BufferedImage grey = new BufferedImage(4, 4, BufferedImage.TYPE_BYTE_GRAY);
        for (int x = 0; x < 4; x++) {
            for (int y = 0; y < 4; y++) {
                grey.getRaster().setSample(x, y, 0, 100);
            }
        }
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        ImageIO.write(grey, "png", png);
        float[] levels = plain.pixels(ImagePreprocessor.decode(png.toByteArray()));
        for (float level : levels) {
            assertEquals(100, level);
        }
        assertEquals(2 * 48, plain.pixels(List.of(wide, grey)).length);
    }

    @Test
    void badConfigurationsAndPicturesAreRefused() throws Exception {
        assertEquals("preprocessor_config.json: size {\"height\":32,\"width\":32} is not the vision tower's "
                + "image_size 16",
                assertThrows(IllegalArgumentException.class,
                        () -> read("{\"size\": {\"height\": 32, \"width\": 32}}", 16)).getMessage());
        read("{\"size\": {\"shortest_edge\": 18}, \"crop_size\": {\"height\": 16, \"width\": 16}}", 16);
        assertEquals("preprocessor_config.json: image_std must hold finite numbers > 0",
                assertThrows(IllegalArgumentException.class, () -> read("{\"image_std\": [1, 0, 1]}", 16))
                        .getMessage());
        assertEquals("preprocessor_config.json: do_normalize must be true or false",
                assertThrows(IllegalArgumentException.class, () -> read("{\"do_normalize\": 1}", 16)).getMessage());

        ImagePreprocessor noResize = read("{\"do_resize\": false}", 2);
        assertEquals("the picture is 4 x 4 pixels; the model reads 2 x 2 and preprocessor_config.json says "
                + "do_resize false",
                assertThrows(IllegalArgumentException.class,
                        () -> noResize.pixels(new BufferedImage(4, 4, BufferedImage.TYPE_INT_RGB))).getMessage());
        assertThrows(IllegalArgumentException.class, () -> ImagePreprocessor.decode(new byte[]{1, 2, 3}));
    }
}
