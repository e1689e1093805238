package dicom

import "strings"

// Summary is the header information shown next to an image, and what orders
// instances within a series. All text is decoded, cleaned, untrusted plain text.
type Summary struct {
	PatientName      PersonName `json:"patient_name"`
	PatientID        string     `json:"patient_id"`
	PatientSex       string     `json:"patient_sex"`
	PatientBirthDate string     `json:"patient_birth_date"` // YYYYMMDD as stored

	StudyDate         string `json:"study_date"` // YYYYMMDD
	StudyTime         string `json:"study_time"` // HHMMSS.FFFFFF
	StudyDescription  string `json:"study_description"`
	StudyID           string `json:"study_id"`
	AccessionNumber   string `json:"accession_number"`
	StudyInstanceUID  string `json:"study_instance_uid"`
	SeriesDescription string `json:"series_description"`
	SeriesNumber      int    `json:"series_number"`
	SeriesInstanceUID string `json:"series_instance_uid"`
	SOPClassUID       string `json:"sop_class_uid"`
	SOPInstanceUID    string `json:"sop_instance_uid"`
	Modality          string `json:"modality"`
	BodyPart          string `json:"body_part"`
	Manufacturer      string `json:"manufacturer"`
	Institution       string `json:"institution"`

	InstanceNumber   int       `json:"instance_number"`
	ImagePosition    []float64 `json:"image_position,omitempty"`    // x, y, z of the first pixel, mm
	ImageOrientation []float64 `json:"image_orientation,omitempty"` // row and column direction cosines
	SliceLocation    *float64  `json:"slice_location,omitempty"`
	PixelSpacing     []float64 `json:"pixel_spacing,omitempty"` // row, column spacing, mm

	Rows           int    `json:"rows"`
	Columns        int    `json:"columns"`
	Frames         int    `json:"frames"`
	BitsAllocated  int    `json:"bits_allocated"`
	BitsStored     int    `json:"bits_stored"`
	Photometric    string `json:"photometric"`
	TransferSyntax string `json:"transfer_syntax_uid"`
	SyntaxName     string `json:"transfer_syntax"`
	HasImage       bool   `json:"has_image"`

	// IdentityRemoved and DeidentificationMethod are Patient Identity Removed
	// (0012,0062) and De-identification Method (0012,0063), as stored.
	IdentityRemoved        string `json:"identity_removed,omitempty"`
	DeidentificationMethod string `json:"deidentification_method,omitempty"`

	// SyntaxGuessed says the file names no transfer syntax (no File Meta
	// Information, or none in it): TransferSyntax is how it was read.
	SyntaxGuessed bool `json:"syntax_guessed,omitempty"`
	// Incomplete says the file ends early (一部欠損): the header may stop short,
	// frames may be missing, and the last frame shown may be padded.
	Incomplete bool `json:"incomplete,omitempty"`
	// FramesPresent counts the frames that have data, when Incomplete; Frames
	// is what the file declares.
	FramesPresent int `json:"frames_present,omitempty"`
}

// Summary returns the file's header summary.
func (f *File) Summary() Summary {
	d := f.ds
	s := Summary{
		PatientName:       d.personName(tagPatientName),
		PatientID:         d.text(tagPatientID),
		PatientSex:        cleanText(d.ascii(tagPatientSex)),
		PatientBirthDate:  cleanText(d.ascii(tagPatientBirthDate)),
		StudyDate:         cleanText(d.ascii(tagStudyDate)),
		StudyTime:         cleanText(d.ascii(tagStudyTime)),
		StudyDescription:  d.text(tagStudyDescription),
		StudyID:           d.text(tagStudyID),
		AccessionNumber:   d.text(tagAccessionNumber),
		StudyInstanceUID:  cleanText(d.ascii(tagStudyInstanceUID)),
		SeriesDescription: d.text(tagSeriesDescription),
		SeriesInstanceUID: cleanText(d.ascii(tagSeriesInstanceUID)),
		SOPClassUID:       cleanText(d.ascii(tagSOPClassUID)),
		SOPInstanceUID:    cleanText(d.ascii(tagSOPInstanceUID)),
		Modality:          cleanText(d.ascii(tagModality)),
		BodyPart:          cleanText(d.ascii(tagBodyPartExamined)),
		Manufacturer:      d.text(tagManufacturer),
		Institution:       d.text(tagInstitutionName),
		TransferSyntax:    f.syntax.uid,
		SyntaxName:        SyntaxName(f.syntax.uid),
		HasImage:          f.img != nil,

		IdentityRemoved:        cleanText(d.ascii(tagIdentityRemoved)),
		DeidentificationMethod: d.text(tagDeidMethod),

		SyntaxGuessed: f.guessed,
		Incomplete:    f.truncated,
	}
	s.SeriesNumber, _ = d.int(tagSeriesNumber)
	s.InstanceNumber, _ = d.int(tagInstanceNumber)
	s.ImagePosition = fixed(f.frameAttr(0, tagPlanePositionSeq, tagImagePosition).floats(tagImagePosition), 3)
	s.ImageOrientation = fixed(f.frameAttr(0, tagPlaneOrientationSeq, tagImageOrientation).floats(tagImageOrientation), 6)
	s.PixelSpacing = fixed(f.frameAttr(0, tagPixelMeasuresSeq, tagPixelSpacing).floats(tagPixelSpacing), 2)
	if v, ok := d.float(tagSliceLocation); ok {
		s.SliceLocation = &v
	}
	if im := f.img; im != nil {
		s.Rows, s.Columns, s.Frames = im.rows, im.cols, im.frames
		s.BitsAllocated, s.BitsStored, s.Photometric = im.bitsAlloc, im.bitsStored, im.photometric
		if im.incomplete {
			s.Incomplete, s.FramesPresent = true, im.present
		}
	} else {
		s.Rows, _ = d.int(tagRows)
		s.Columns, _ = d.int(tagColumns)
		s.Photometric = cleanText(d.ascii(tagPhotometric))
	}
	return s
}

// fixed returns v if it has exactly n values, else nil.
func fixed(v []float64, n int) []float64 {
	if len(v) != n {
		return nil
	}
	return v
}

// PersonName is a DICOM PN value: up to three component groups separated by
// "=" (alphabetic, ideographic, phonetic), each with components separated by "^"
// (family, given, middle, prefix, suffix). For example
// "Yamada^Tarou=山田^太郎=やまだ^たろう". Empty groups at the end are dropped
// with their "=", as pydicom and PS3.5 6.2 have it: "Yamada^Tarou==" is
// "Yamada^Tarou".
type PersonName string

// personName returns the PN value of t, decoded with the character set that
// applies to d (in a sequence item, the item's own), without trailing empty
// component groups.
func (d *dataset) personName(t Tag) PersonName {
	return PersonName(strings.TrimRight(d.text(t), "= "))
}

func (p PersonName) group(i int) string {
	g := strings.Split(string(p), "=")
	if i < len(g) {
		return g[i]
	}
	return ""
}

// Alphabetic returns the alphabetic group ("Yamada^Tarou").
func (p PersonName) Alphabetic() string { return p.group(0) }

// Ideographic returns the ideographic group ("山田^太郎").
func (p PersonName) Ideographic() string { return p.group(1) }

// Phonetic returns the phonetic group ("やまだ^たろう").
func (p PersonName) Phonetic() string { return p.group(2) }

// Display formats the name for people: the ideographic group if there is one
// (family name first, without separators, as Japanese names are written), else
// the alphabetic group as "Family Given Middle".
func (p PersonName) Display() string {
	if g := p.Ideographic(); strings.Trim(g, "^ ") != "" {
		parts := strings.Split(g, "^")
		return strings.Join(nonEmpty(parts[:min(2, len(parts))]), " ")
	}
	return strings.Join(nonEmpty(strings.Split(p.Alphabetic(), "^")), " ")
}

func nonEmpty(parts []string) []string {
	var out []string
	for _, s := range parts {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
