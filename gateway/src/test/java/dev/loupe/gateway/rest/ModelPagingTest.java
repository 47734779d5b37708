package dev.loupe.gateway.rest;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import dev.loupe.contracts.common.v1.PageInfo;
import dev.loupe.contracts.training.v1.BaseModel;
import dev.loupe.contracts.training.v1.ListBaseModelsResponse;
import dev.loupe.contracts.training.v1.ListModelVersionsResponse;
import dev.loupe.contracts.training.v1.ModelVersion;
import dev.loupe.gateway.api.ListPage;
import dev.loupe.gateway.api.ModelView;
import dev.loupe.support.error.ProblemException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The paging of {@code GET /v1/models} over the base models and then the model versions, each page checked on its
 * own and a whole walk through both lists checked against a fake of the training-service's two lists.
 */
class ModelPagingTest {
    private static final String V1 = "01890a5d-ac96-7000-8000-000000000001";
    private static final String V2 = "01890a5d-ac96-7000-8000-000000000002";

    private static ListBaseModelsResponse bases(boolean hasMore, String... ids) {
        ListBaseModelsResponse.Builder page = ListBaseModelsResponse.newBuilder()
                .setPage(PageInfo.newBuilder().setHasMore(hasMore).setNextAfter(hasMore ? ids[ids.length - 1] : ""));
        for (String id : ids) {
            page.addModels(BaseModel.newBuilder().setId(id));
        }
        return page.build();
    }

    private static ListModelVersionsResponse versions(boolean hasMore, String... ids) {
        ListModelVersionsResponse.Builder page = ListModelVersionsResponse.newBuilder()
                .setPage(PageInfo.newBuilder().setHasMore(hasMore).setNextAfter(hasMore ? ids[ids.length - 1] : ""));
        for (String id : ids) {
            page.addModelVersions(ModelVersion.newBuilder().setId(id));
        }
        return page.build();
    }

    private static List<String> ids(ListPage<ModelView> page) {
        return page.data().stream().map(model -> model.type() + " " + model.id()).toList();
    }

    @Test
    void limitDefaultsTo20AndStopsAt100() {
        assertEquals(20, ModelPaging.pageSize(null));
        assertEquals(20, ModelPaging.pageSize(""));
        assertEquals(1, ModelPaging.pageSize("1"));
        assertEquals(100, ModelPaging.pageSize("100"));
        for (String wrong : List.of("0", "101", "-1", "x")) {
            ProblemException problem = assertThrows(ProblemException.class, () -> ModelPaging.pageSize(wrong));
            assertEquals("limit", problem.field().orElseThrow(), wrong);
        }
    }

    @Test
    void cursors() {
        assertEquals(new ModelPaging.Cursor(false, ""), ModelPaging.cursor(null));
        assertEquals(new ModelPaging.Cursor(false, ""), ModelPaging.cursor(""));
        assertEquals(new ModelPaging.Cursor(false, "llava-1.5-7b"), ModelPaging.cursor("base:llava-1.5-7b"));
        assertEquals(new ModelPaging.Cursor(true, V1), ModelPaging.cursor("version:" + V1));
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "llava-1.5-7b", "version:llava", "version:", "Base:x", "model:" + V1, V1})
    void anyOtherAfterIsRefusedNamingIt(String after) {
        ProblemException problem = assertThrows(ProblemException.class, () -> ModelPaging.cursor(after));
        assertEquals("after", problem.field().orElseThrow());
    }

    @Test
    void basesThatGoOnFillThePageAlone() {
        ListBaseModelsResponse bases = bases(true, "a", "b");

        assertTrue(ModelPaging.moreBaseModels(bases));
        ListPage<ModelView> page = ModelPaging.baseModels(bases);

        assertEquals(List.of("base a", "base b"), ids(page));
        assertTrue(page.hasMore());
        assertEquals("base:b", page.nextAfter());
    }

    @Test
    void theLastBasesAreFollowedByTheFirstVersions() {
        ListBaseModelsResponse bases = bases(false, "a");
        assertFalse(ModelPaging.moreBaseModels(bases));
        assertEquals(2, ModelPaging.versionsToFill(3, bases));

        ListPage<ModelView> page = ModelPaging.baseModelsThenVersions(3, bases, versions(true, V1, V2));

        assertEquals(List.of("base a", "fine_tuned " + V1, "fine_tuned " + V2), ids(page));
        assertTrue(page.hasMore());
        assertEquals("version:" + V2, page.nextAfter());
    }

    @Test
    void theLastPageEndsTheList() {
        ListPage<ModelView> page = ModelPaging.baseModelsThenVersions(3, bases(false, "a"), versions(false, V1));

        assertEquals(List.of("base a", "fine_tuned " + V1), ids(page));
        assertFalse(page.hasMore());
        assertNull(page.nextAfter());
    }

    @Test
    void basesThatFillThePageExactlyAskForOneVersionToKnowWhetherTheListGoesOn() {
        ListBaseModelsResponse bases = bases(false, "a", "b");
        assertEquals(1, ModelPaging.versionsToFill(2, bases));

        ListPage<ModelView> more = ModelPaging.baseModelsThenVersions(2, bases, versions(false, V1));
        assertEquals(List.of("base a", "base b"), ids(more));
        assertTrue(more.hasMore());
        assertEquals("base:b", more.nextAfter());

        ListPage<ModelView> end = ModelPaging.baseModelsThenVersions(2, bases, versions(false));
        assertEquals(List.of("base a", "base b"), ids(end));
        assertFalse(end.hasMore());
        assertNull(end.nextAfter());
    }

    @Test
    void aVersionCursorListsVersionsOnly() {
        ListPage<ModelView> page = ModelPaging.versions(versions(true, V2));
        assertEquals(List.of("fine_tuned " + V2), ids(page));
        assertEquals("version:" + V2, page.nextAfter());

        ListPage<ModelView> end = ModelPaging.versions(versions(false));
        assertEquals(List.of(), ids(end));
        assertFalse(end.hasMore());
        assertNull(end.nextAfter());
    }

    @Test
    void nothingAtAllIsOneEmptyPage() {
        ListPage<ModelView> page = ModelPaging.baseModelsThenVersions(20, bases(false), versions(false));

        assertEquals(List.of(), ids(page));
        assertFalse(page.hasMore());
        assertNull(page.nextAfter());
    }

    /** Every page size against lists of several lengths: each entry once, in order, and has_more true iff more. */
    @Test
    void walkingThePagesListsEveryModelOnceInOrder() {
        for (int baseCount = 0; baseCount <= 5; baseCount++) {
            for (int versionCount = 0; versionCount <= 5; versionCount++) {
                List<String> baseIds = IntStream.range(0, baseCount).mapToObj(i -> "base-" + i).toList();
                List<String> versionIds = IntStream.range(0, versionCount)
                        .mapToObj(i -> String.format("01890a5d-ac96-7000-8000-%012d", i))
                        .toList();
                List<String> expected = new ArrayList<>();
                baseIds.forEach(id -> expected.add("base " + id));
                versionIds.forEach(id -> expected.add("fine_tuned " + id));
                for (int pageSize = 1; pageSize <= 7; pageSize++) {
                    assertEquals(expected, walk(baseIds, versionIds, pageSize),
                            baseCount + " bases, " + versionCount + " versions, pages of " + pageSize);
                }
            }
        }
    }

    /** What a client gets by following next_after, checking has_more on the way. */
    private static List<String> walk(List<String> baseIds, List<String> versionIds, int pageSize) {
        List<String> seen = new ArrayList<>();
        String after = null;
        for (int pages = 0; pages < 100; pages++) {
            ModelPaging.Cursor cursor = ModelPaging.cursor(after);
            ListPage<ModelView> page;
            if (cursor.inVersions()) {
                page = ModelPaging.versions(fakeVersions(versionIds, cursor.after(), pageSize));
            } else {
                ListBaseModelsResponse bases = fakeBases(baseIds, cursor.after(), pageSize);
                page = ModelPaging.moreBaseModels(bases)
                        ? ModelPaging.baseModels(bases)
                        : ModelPaging.baseModelsThenVersions(pageSize, bases,
                                fakeVersions(versionIds, "", ModelPaging.versionsToFill(pageSize, bases)));
            }
            assertTrue(page.data().size() <= pageSize);
            seen.addAll(ids(page));
            if (!page.hasMore()) {
                assertNull(page.nextAfter());
                assertEquals(baseIds.size() + versionIds.size(), seen.size(), "has_more false before the end");
                return seen;
            }
            after = page.nextAfter();
        }
        throw new AssertionError("no end after 100 pages");
    }

    /** The training-service's ListBaseModels: by id, after the cursor, one more looked at for has_more. */
    private static ListBaseModelsResponse fakeBases(List<String> ids, String after, int limit) {
        List<String> rest = ids.stream().filter(id -> id.compareTo(after) > 0).toList();
        List<String> page = rest.subList(0, Math.min(limit, rest.size()));
        return bases(rest.size() > limit, page.toArray(String[]::new));
    }

    private static ListModelVersionsResponse fakeVersions(List<String> ids, String after, int limit) {
        List<String> rest = ids.stream().filter(id -> id.compareTo(after) > 0).toList();
        List<String> page = rest.subList(0, Math.min(limit, rest.size()));
        return versions(rest.size() > limit, page.toArray(String[]::new));
    }
}
