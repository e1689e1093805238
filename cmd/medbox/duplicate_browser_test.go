package main

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserDuplicateFileAsks (issue 15): choosing a file that is in the box
// already (same name and size) makes no silent second copy: the row asks, 送らない
// drops it, もう一度送る sends a second copy. The total names itself and, with one
// file, agrees with the file's row.
func TestBrowserDuplicateFileAsks(t *testing.T) {
	in, x, b := senderAtBox(t, instanceOptions{env: smallChunks}, phone)
	name := "心電図_佐藤.jpg"
	path := writeTemp(t, t.TempDir(), name, jpeg(91, 900_000))
	b.watchUploads()
	b.throttle(2_000_000, 20*time.Millisecond)
	b.do("choose the file", chromedp.SetUploadFiles(chromedp.CSS("#file-input"), []string{path}))
	b.waitFor("sending", `document.querySelector('.upload-row[data-state=sending]') !== null && parseFloat(document.getElementById('total-bar').value) > 0.1`, 20*time.Second)
	row, total := eval[string](b, `document.querySelector('.upload-amount').textContent`), eval[string](b, `document.getElementById('total-text').textContent`)
	// The same instant, read in one evaluation: one file's row and the whole agree.
	same := eval[[]string](b, `(() => { const r = document.querySelector('.upload-amount').textContent.match(/(\d+)%/);
		const w = document.getElementById('total-text').textContent.match(/(\d+)%/); return [r ? r[1] : '', w ? w[1] : '']; })()`)
	if same[0] == "" || same[0] != same[1] {
		t.Errorf("with one file the row says %s%% and the total %s%%", same[0], same[1])
	}
	if !strings.Contains(total, "全体") || !strings.Contains(total, "ファイル完了") {
		t.Errorf("the total reads %q; want it to say it is the whole batch", total)
	}
	t.Logf("row %q, total %q", row, total)
	b.throttle(0, 0)
	b.waitFor("done", `document.querySelector('.upload-row[data-state=done]') !== null`, 30*time.Second)

	// The same file again: the row asks.
	b.do("choose it again", chromedp.SetUploadFiles(chromedp.CSS("#file-input"), []string{path}))
	b.waitFor("the question", `document.querySelector('.upload-row[data-state=duplicate] .upload-skip') !== null`, 10*time.Second)
	b.screenshot("duplicate")
	if note := eval[string](b, `document.querySelector('.upload-row[data-state=duplicate] .upload-note').textContent`); !strings.Contains(note, "すでにあります") {
		t.Errorf("the row says %q", note)
	}
	b.do("don't send", chromedp.Click(chromedp.CSS(`.upload-row[data-state=duplicate] .upload-skip`)))
	b.waitFor("row gone", `document.querySelector('.upload-row[data-state=duplicate]') === null`, 5*time.Second)
	if n := in.countRows(`SELECT count(*) FROM files WHERE box_id = $1`, x.box); n != 1 {
		t.Errorf("%d files after 送らない, want 1", n)
	}
	b.do("choose it once more", chromedp.SetUploadFiles(chromedp.CSS("#file-input"), []string{path}))
	b.waitFor("the question again", `document.querySelector('.upload-row[data-state=duplicate] .upload-again') !== null`, 10*time.Second)
	b.do("send again", chromedp.Click(chromedp.CSS(`.upload-row[data-state=duplicate] .upload-again`)))
	in.waitRows("a second copy", 30*time.Second, func(n int) bool { return n == 2 }, `SELECT count(*) FROM files WHERE box_id = $1`, x.box)
	b.pageClean()
}
