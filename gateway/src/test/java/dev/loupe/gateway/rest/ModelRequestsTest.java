package dev.loupe.gateway.rest;

import org.junit.jupiter.api.Test;

import dev.loupe.gateway.api.ReviewBody;
import dev.loupe.support.error.ProblemException;
import dev.loupe.support.error.ProblemType;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** What the model version routes send to the training-service, and what they refuse before sending anything. */
class ModelRequestsTest {
    private static final String ID = "01890a5d-ac96-7000-8000-000000000001";

    @Test
    void aReviewCarriesTheCommentOrNone() {
        assertEquals("no leakage", ModelResource.review(ID, new ReviewBody("no leakage")).getComment());
        assertEquals("", ModelResource.review(ID, new ReviewBody(null)).getComment());
        assertEquals("", ModelResource.review(ID, null).getComment());
        assertEquals(ID, ModelResource.review(ID, null).getModelVersionId());
    }

    @Test
    void anIdThatIsNoUuidNamesNoModelVersion() {
        ProblemException problem = assertThrows(ProblemException.class,
                () -> ModelResource.review("loupe-tiny-base", null));
        assertEquals(ProblemType.NOT_FOUND, problem.type());
        assertThrows(ProblemException.class, () -> ModelResource.modelVersionId("01890a5d"));
    }

    @Test
    void theAttachmentIsNamedAfterTheVersion() {
        assertEquals("attachment; filename=\"loupe-tiny-base_colours_01a21c6a.zip\"",
                ModelResource.contentDisposition("loupe-tiny-base:colours:01a21c6a"));
        assertEquals("attachment; filename=\"a__b_.zip\"", ModelResource.contentDisposition("a\"\rb\n"));
    }
}
