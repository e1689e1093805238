package dicom

import (
	"errors"
	"fmt"
	"strings"
)

// DirRecord is one directory record of a DICOMDIR.
type DirRecord struct {
	// Type is the record type: PATIENT, STUDY, SERIES, IMAGE, and so on.
	Type string `json:"type"`
	// Depth is the record's level in the hierarchy, 0 for root records.
	Depth int `json:"depth"`
	// FileID holds the path components of the referenced file, relative to
	// the DICOMDIR's folder, or nil. Components that could escape that folder
	// ("..", separators, control characters) are refused: the record is kept
	// without FileID.
	FileID []string `json:"file_id,omitempty"`

	PatientID         string `json:"patient_id,omitempty"`
	PatientName       string `json:"patient_name,omitempty"`
	StudyInstanceUID  string `json:"study_instance_uid,omitempty"`
	StudyDate         string `json:"study_date,omitempty"`
	StudyDescription  string `json:"study_description,omitempty"`
	SeriesInstanceUID string `json:"series_instance_uid,omitempty"`
	SeriesNumber      int    `json:"series_number,omitempty"`
	Modality          string `json:"modality,omitempty"`
	InstanceNumber    int    `json:"instance_number,omitempty"`
	SOPInstanceUID    string `json:"sop_instance_uid,omitempty"`
	TransferSyntax    string `json:"transfer_syntax_uid,omitempty"`
}

// maxDirDepth bounds the record hierarchy (PATIENT/STUDY/SERIES/IMAGE is 4).
const maxDirDepth = 16

// ReadDICOMDIR parses a DICOMDIR and returns its records depth first, in the
// order the directory's offsets link them (a patient, its first study, that
// study's series and images, ...). When the offsets are missing or do not lead
// to the records, it falls back to the order of the Directory Record Sequence
// with depths from the record types. An empty directory gives no records.
func ReadDICOMDIR(data []byte) ([]DirRecord, error) {
	f, err := Parse(data, Limits{})
	if err != nil {
		return nil, fmt.Errorf("read DICOMDIR: %w", err)
	}
	e, ok := f.ds.find(tagDirectoryRecordSeq)
	if !ok {
		return nil, fmt.Errorf("read DICOMDIR: %w: no directory record sequence", ErrNotDICOM)
	}
	if e.seq == nil {
		return nil, nil
	}
	items := e.seq.items
	if root, ok := f.ds.uint32(tagRootDirectoryOffset); ok && root != 0 {
		if recs, err := linked(items, []uint32{root}); err == nil {
			return recs, nil
		}
	}
	// The root offset is missing or wrong: start from every record no other
	// record links to.
	if recs, err := linked(items, unreferenced(items)); err == nil {
		return recs, nil
	}
	recs := make([]DirRecord, len(items))
	for i, it := range items {
		recs[i] = record(it, typeDepth(it.ascii(tagDirectoryRecordType)))
	}
	return recs, nil
}

var errUnlinked = errors.New("directory offsets do not link the records")

// linked walks the records through their offsets from each root in turn. It
// fails unless that reaches every record exactly once.
func linked(items []*dataset, roots []uint32) ([]DirRecord, error) {
	byOffset := make(map[uint32]int, len(items))
	for i, it := range items {
		if it.offset < 0 {
			return nil, errUnlinked
		}
		byOffset[uint32(it.offset)] = i
	}
	seen := make([]bool, len(items))
	var out []DirRecord
	var walk func(off uint32, depth int) error
	walk = func(off uint32, depth int) error {
		if depth > maxDirDepth {
			return errUnlinked
		}
		for off != 0 {
			i, ok := byOffset[off]
			if !ok || seen[i] {
				return errUnlinked
			}
			seen[i] = true
			it := items[i]
			out = append(out, record(it, depth))
			if lower, _ := it.uint32(tagLowerRecordOffset); lower != 0 {
				if err := walk(lower, depth+1); err != nil {
					return err
				}
			}
			off, _ = it.uint32(tagNextRecordOffset)
		}
		return nil
	}
	for _, root := range roots {
		if err := walk(root, 0); err != nil {
			return nil, err
		}
	}
	if len(out) != len(items) {
		return nil, errUnlinked
	}
	return out, nil
}

// unreferenced returns the offsets of the records that no record links to, in
// sequence order.
func unreferenced(items []*dataset) []uint32 {
	linkedTo := map[uint32]bool{}
	for _, it := range items {
		for _, t := range []Tag{tagNextRecordOffset, tagLowerRecordOffset} {
			if off, ok := it.uint32(t); ok && off != 0 {
				linkedTo[off] = true
			}
		}
	}
	var roots []uint32
	for _, it := range items {
		if it.offset >= 0 && !linkedTo[uint32(it.offset)] {
			roots = append(roots, uint32(it.offset))
		}
	}
	return roots
}

func typeDepth(t string) int {
	switch strings.ToUpper(t) {
	case "PATIENT":
		return 0
	case "STUDY":
		return 1
	case "SERIES":
		return 2
	}
	return 3
}

func record(it *dataset, depth int) DirRecord {
	r := DirRecord{
		Type:              cleanText(it.ascii(tagDirectoryRecordType)),
		Depth:             depth,
		FileID:            fileID(it.strings(tagReferencedFileID)),
		PatientID:         it.text(tagPatientID),
		PatientName:       string(it.personName(tagPatientName)),
		StudyInstanceUID:  cleanText(it.ascii(tagStudyInstanceUID)),
		StudyDate:         cleanText(it.ascii(tagStudyDate)),
		StudyDescription:  it.text(tagStudyDescription),
		SeriesInstanceUID: cleanText(it.ascii(tagSeriesInstanceUID)),
		Modality:          cleanText(it.ascii(tagModality)),
		SOPInstanceUID:    cleanText(it.ascii(tagRefSOPInstanceInFil)),
		TransferSyntax:    cleanText(it.ascii(tagRefTransferSyntax)),
	}
	r.SeriesNumber, _ = it.int(tagSeriesNumber)
	r.InstanceNumber, _ = it.int(tagInstanceNumber)
	return r
}

// fileID checks the components of a Referenced File ID.
func fileID(parts []string) []string {
	if len(parts) == 0 {
		return nil
	}
	for _, p := range parts {
		if p == "" || p == "." || p == ".." || len(p) > 255 {
			return nil
		}
		for _, r := range p {
			ok := r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.'
			if !ok {
				return nil
			}
		}
	}
	return parts
}

// ReferencedFiles returns the FileIDs of records that reference a file, in order.
func ReferencedFiles(recs []DirRecord) [][]string {
	var out [][]string
	for _, r := range recs {
		if r.FileID != nil {
			out = append(out, r.FileID)
		}
	}
	return out
}
