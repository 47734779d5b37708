package dev.loupe.engine.checkpoint;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HalfFloatsTest {

    @Test
    void everyF16ValueSurvivesARoundTrip() {
        for (int bits = 0; bits <= 0xFFFF; bits++) {
            float widened = HalfFloats.f16ToFloat((short) bits);
            if (Float.isNaN(widened)) {
                assertTrue(Float.isNaN(HalfFloats.f16ToFloat(HalfFloats.floatToF16(widened))));
            } else {
                assertEquals(bits, HalfFloats.floatToF16(widened) & 0xFFFF, Integer.toHexString(bits));
            }
        }
    }

    @Test
    void everyBf16ValueSurvivesARoundTrip() {
        for (int bits = 0; bits <= 0xFFFF; bits++) {
            float widened = HalfFloats.bf16ToFloat((short) bits);
            if (Float.isNaN(widened)) {
                assertTrue(Float.isNaN(HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(widened))));
            } else {
                assertEquals(bits, HalfFloats.floatToBf16(widened) & 0xFFFF, Integer.toHexString(bits));
            }
        }
    }

    @Test
    void knownF16Values() {
        assertEquals(0x3C00, HalfFloats.floatToF16(1f) & 0xFFFF);
        assertEquals(0xC000, HalfFloats.floatToF16(-2f) & 0xFFFF);
        assertEquals(0x7BFF, HalfFloats.floatToF16(65504f) & 0xFFFF); // largest finite
        assertEquals(0x7C00, HalfFloats.floatToF16(65520f) & 0xFFFF); // rounds up to infinity
        assertEquals(0x0001, HalfFloats.floatToF16(0x1p-24f) & 0xFFFF); // smallest subnormal
        assertEquals(0x0000, HalfFloats.floatToF16(0x1p-25f) & 0xFFFF); // tie: to even, zero
        assertEquals(0x0002, HalfFloats.floatToF16(0x1.8p-24f) & 0xFFFF); // tie: to even, two
        assertEquals(0x3C00, HalfFloats.floatToF16(1f + 0x1p-11f) & 0xFFFF); // tie: to even, 1.0
        assertEquals(0x3C01, HalfFloats.floatToF16(1f + 0x1.8p-11f) & 0xFFFF); // above the tie
        assertEquals(0.333251953125f, HalfFloats.f16ToFloat(HalfFloats.floatToF16(1f / 3)));
    }

    @Test
    void knownBf16Values() {
        assertEquals(0x3F80, HalfFloats.floatToBf16(1f) & 0xFFFF);
        assertEquals(0x3F80, HalfFloats.floatToBf16(1f + 0x1p-8f) & 0xFFFF); // tie: to even
        assertEquals(0x3F81, HalfFloats.floatToBf16(1f + 0x1.8p-8f) & 0xFFFF);
        assertEquals(0x7F80, HalfFloats.floatToBf16(Float.POSITIVE_INFINITY) & 0xFFFF);
        assertTrue(Float.isNaN(HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(Float.NaN))));
    }
}
