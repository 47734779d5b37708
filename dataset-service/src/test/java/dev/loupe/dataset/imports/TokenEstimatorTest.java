package dev.loupe.dataset.imports;

import java.util.List;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class TokenEstimatorTest {

    @Test
    void textBytesOverFourRoundedUpPlusImagesPlusTurnOverhead() {
        ImportLimits limits = ImportLimits.builder().optImageTokens(100).optTokensPerMessage(5).build();
        // user: "<image>" + 9 bytes ("Describe!") -> ceil(9/4)=3, one image 100, overhead 5 = 108
        // assistant: "é" is 2 UTF-8 bytes -> 1, overhead 5 = 6
        List<Message> messages = List.of(Message.user("<image>Describe!"), Message.assistant("é"));
        assertEquals(114, new TokenEstimator(limits).estimate(messages));
    }

    @Test
    void supplementaryCharactersCountFourBytes() {
        ImportLimits limits = ImportLimits.builder().optTokensPerMessage(0).build();
        // two emoji: 8 UTF-8 bytes -> 2 tokens
        assertEquals(2, new TokenEstimator(limits).estimate(List.of(Message.user("😀😀"))));
    }
}
