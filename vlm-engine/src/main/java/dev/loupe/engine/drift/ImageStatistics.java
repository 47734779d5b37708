package dev.loupe.engine.drift;

import java.awt.image.BufferedImage;

/**
 * What drift monitoring measures of one picture before the model sees it: size, aspect and the light of its pixels.
 * Cheap enough for every served picture: at most about 65,000 pixels are read, on a regular grid.
 *
 * @param brightness mean luma (Rec. 709 weights), 0 black to 1 white
 * @param contrast standard deviation of the luma
 */
public record ImageStatistics(double brightness, double contrast, int width, int height) {
    private static final int MAX_SAMPLES = 1 << 16;

    public static ImageStatistics of(BufferedImage image) {
        int width = image.getWidth();
        int height = image.getHeight();
        int stride = (int) Math.max(1, Math.ceil(Math.sqrt((double) width * height / MAX_SAMPLES)));
        double sum = 0;
        double squares = 0;
        long count = 0;
        for (int y = 0; y < height; y += stride) {
            for (int x = 0; x < width; x += stride) {
                int rgb = image.getRGB(x, y);
                double luma = (0.2126 * ((rgb >> 16) & 0xff) + 0.7152 * ((rgb >> 8) & 0xff) + 0.0722 * (rgb & 0xff))
                        / 255.0;
                sum += luma;
                squares += luma * luma;
                count++;
            }
        }
        double mean = sum / count;
        return new ImageStatistics(mean, Math.sqrt(Math.max(0, squares / count - mean * mean)), width, height);
    }

    public double aspectRatio() {
        return (double) width / height;
    }
}
